//! Driving an embedded-hal 1.0 output pin from the monitor's state.

use embedded_hal::digital::OutputPin;

use super::Level;

/// Which electrical level means "alarm".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Polarity {
    /// The pin is driven high while the alarm is active (an LED to ground, an active-high
    /// interrupt line).
    ActiveHigh,
    /// The pin is driven low while the alarm is active (an open-drain interrupt line).
    ActiveLow,
}

/// An [`OutputPin`] that follows the monitor: active while the state is at or above
/// `trigger`, inactive otherwise. The pin is written on the first [`AlarmPin::update`] and
/// then only when its level changes, so an interrupt line sees one edge per transition.
///
/// A failed write is returned as the pin's own error and not remembered as done: the next
/// `update` writes again.
///
/// # Examples
/// ```
/// # #[cfg(feature = "embedded-hal")] {
/// use core::convert::Infallible;
/// use embedded_hal::digital::{ErrorType, OutputPin};
/// use loss_core::monitor::{AlarmPin, Level, Polarity};
///
/// struct Led(bool);
/// impl ErrorType for Led { type Error = Infallible; }
/// impl OutputPin for Led {
///     fn set_low(&mut self) -> Result<(), Infallible> { self.0 = false; Ok(()) }
///     fn set_high(&mut self) -> Result<(), Infallible> { self.0 = true; Ok(()) }
/// }
///
/// let mut alarm = AlarmPin::new(Led(false), Level::Alarm, Polarity::ActiveHigh);
/// assert_eq!(alarm.update(Level::Warn), Ok(true)); // first write: inactive
/// assert_eq!(alarm.update(Level::Alarm), Ok(true));
/// assert_eq!(alarm.update(Level::Alarm), Ok(false)); // unchanged: no write
/// assert!(alarm.into_inner().0);
/// # }
/// ```
#[derive(Debug)]
pub struct AlarmPin<P> {
    pin: P,
    trigger: Level,
    polarity: Polarity,
    active: Option<bool>,
}

impl<P: OutputPin> AlarmPin<P> {
    /// Wraps `pin`; nothing is written until the first [`AlarmPin::update`].
    pub const fn new(pin: P, trigger: Level, polarity: Polarity) -> Self {
        Self {
            pin,
            trigger,
            polarity,
            active: None,
        }
    }

    /// Drives the pin for `level`; `Ok(true)` if it was written, `Ok(false)` if it already
    /// showed that state.
    ///
    /// # Errors
    /// The pin's error, unchanged.
    pub fn update(&mut self, level: Level) -> Result<bool, P::Error> {
        let active = level >= self.trigger;
        if self.active == Some(active) {
            return Ok(false);
        }
        let high = active == (self.polarity == Polarity::ActiveHigh);
        if high {
            self.pin.set_high()?;
        } else {
            self.pin.set_low()?;
        }
        self.active = Some(active);
        Ok(true)
    }

    /// Whether the pin was last driven active (`None` before the first successful write).
    pub const fn is_active(&self) -> Option<bool> {
        self.active
    }

    /// The pin, released.
    pub fn into_inner(self) -> P {
        self.pin
    }
}
