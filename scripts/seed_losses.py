"""The seed article's four loss snippets, transcribed as the article writes them.

Source: the article the project grew from ("Focal Loss tuning and Dice implementation", its
code snippets). Only what the flattened text lost is restored, and each restoration is named:

- `FocalLoss`: the default `sampling=mean` lost its quotes ("mean"); `sampling` "none" stands for
  the article's `None`. `clamp_min` / `clamp_max` name the article's literals 1e-3 and .999 so
  they can be varied. For any other `sampling` the article's `forward` falls off its
  `if/elif` chain and returns Python `None`; here that is a `ValueError`, since `None` is no loss.
- `DiceLoss`: the line `loss = 1 - loss.sum() / N` is the well-known original of this snippet
  (the flattened text fused it with a comment marker); `smooth` (1 in the article) is a
  parameter. Smoothing sits *inside* the factor 2, exactly as written.
- `dice_loss` / `focal_loss` (Keras): `K.flatten`, `K.sum`, `K.mean`, `K.clip`, `K.pow`,
  `K.log` and `tf.where` are the Keras 3 `keras.ops` equivalents; the article's constants
  (`gamma = 2`, `alpha = 0.25`, smooth 1) become parameters with those defaults.

All four compute in the dtype of their inputs (float32 or float64; for the two Keras functions
float64 needs `framework_vectors.keras_x64`, since `keras.ops.mean` otherwise averages in float32).
"""

from __future__ import annotations

import torch
from torch import nn


class FocalLoss(nn.Module):
    """The article's PyTorch `FocalLoss` (binary, probabilities or `logits=True`)."""

    def __init__(self, alpha=0.25, gamma=2, logits=False, sampling="mean", clamp_min=1e-3, clamp_max=0.999):
        super().__init__()
        self.alpha = alpha
        self.gamma = gamma
        self.logits = logits
        self.sampling = None if sampling == "none" else sampling
        self.clamp_min = clamp_min
        self.clamp_max = clamp_max

    def forward(self, y_pred, y_true):
        alpha = self.alpha
        alpha_ = 1 - self.alpha
        if self.logits:
            y_pred = torch.sigmoid(y_pred)
        pt_positive = torch.where(y_true == 1, y_pred, torch.ones_like(y_pred))
        pt_negative = torch.where(y_true == 0, y_pred, torch.zeros_like(y_pred))
        pt_positive = torch.clamp(pt_positive, self.clamp_min, self.clamp_max)
        pt_negative = torch.clamp(pt_negative, self.clamp_min, self.clamp_max)
        pos_ = (1 - pt_positive) ** self.gamma
        neg_ = pt_negative**self.gamma
        pos_loss = -alpha * pos_ * torch.log(pt_positive)
        neg_loss = -alpha_ * neg_ * torch.log(1 - pt_negative)
        loss = pos_loss + neg_loss
        if self.sampling == "mean":
            return loss.mean()
        elif self.sampling == "sum":
            return loss.sum()
        elif self.sampling is None:
            return loss
        raise ValueError(f"sampling={self.sampling!r}: the article's forward returns None (not mean/sum/none)")


class DiceLoss(nn.Module):
    """The article's PyTorch `DiceLoss`: `1 - mean_n 2 (I_n + s) / (X_n + Y_n + s)`."""

    def __init__(self, smooth=1):
        super().__init__()
        self.smooth = smooth

    def forward(self, input, target):
        N = target.size(0)
        smooth = self.smooth
        input_flat = input.view(N, -1)
        target_flat = target.view(N, -1)
        intersection = input_flat * target_flat
        loss = 2 * (intersection.sum(1) + smooth) / (input_flat.sum(1) + target_flat.sum(1) + smooth)
        loss = 1 - loss.sum() / N
        return loss


def dice_loss(y_true, y_pred, smooth=1.0):
    """The article's Keras `dice_loss` (through its `dice`), over the whole batch."""
    from keras import ops as K

    y_true_f = K.reshape(y_true, (-1,))
    y_pred_f = K.reshape(y_pred, (-1,))
    intersection = K.sum(y_true_f * y_pred_f)
    dice = (2.0 * intersection + smooth) / (K.sum(y_true_f) + K.sum(y_pred_f) + smooth)
    return 1 - dice


def focal_loss(y_true, y_pred, alpha=0.25, gamma=2):
    """The article's Keras `focal_loss`: probabilities clipped to [1e-3, .999], mean of all."""
    from keras import ops as K

    pt_1 = K.where(K.equal(y_true, 1), y_pred, K.ones_like(y_pred))
    pt_0 = K.where(K.equal(y_true, 0), y_pred, K.zeros_like(y_pred))
    pt_1 = K.clip(pt_1, 1e-3, 0.999)
    pt_0 = K.clip(pt_0, 1e-3, 0.999)
    return K.mean(
        -alpha * K.power(1.0 - pt_1, gamma) * K.log(pt_1) - (1 - alpha) * K.power(pt_0, gamma) * K.log(1.0 - pt_0)
    )
