//! Typed access to a request's keyword arguments that remembers which were read, so that an
//! unknown or unsupported parameter is an error instead of being ignored.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::tensor::number;

/// A scalar or a per-class list (MONAI `weight`, Keras `alpha`, ...).
#[derive(Debug, Clone, PartialEq)]
pub enum ScalarOrList {
    /// One value for every class.
    Scalar(f32),
    /// One value per class.
    List(Vec<f32>),
}

/// The keyword arguments of one request.
#[derive(Debug)]
pub struct Params<'a> {
    function: &'a str,
    map: &'a Map<String, Value>,
    read: BTreeSet<String>,
}

impl<'a> Params<'a> {
    /// Wraps the arguments of `function`.
    pub fn new(function: &'a str, map: &'a Map<String, Value>) -> Self {
        Self {
            function,
            map,
            read: BTreeSet::new(),
        }
    }

    /// An error message about parameter `key`.
    pub fn error(&self, key: &str, message: impl std::fmt::Display) -> String {
        format!("parameter `{key}` of {}: {message}", self.function)
    }

    fn get(&mut self, key: &str) -> Option<&'a Value> {
        self.read.insert(key.to_owned());
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Whether `key` was given as an explicit null (Keras `reduction=None`).
    pub fn is_null(&mut self, key: &str) -> bool {
        self.read.insert(key.to_owned());
        self.map.get(key).is_some_and(Value::is_null)
    }

    /// Whether `key` was given at all, null included.
    pub fn given(&mut self, key: &str) -> bool {
        self.read.insert(key.to_owned());
        self.map.contains_key(key)
    }

    /// Whether `key` was given (and not null).
    pub fn has(&mut self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// A boolean.
    pub fn bool(&mut self, key: &str, default: bool) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.error(key, format_args!("{v} is not true or false"))),
        }
    }

    /// A number (non-finite numbers as `"NaN"`, `"Infinity"`, `"-Infinity"`).
    pub fn f32(&mut self, key: &str, default: f32) -> Result<f32, String> {
        Ok(self.opt_f32(key)?.unwrap_or(default))
    }

    /// A number or null.
    pub fn opt_f32(&mut self, key: &str) -> Result<Option<f32>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => number(v)
                .map(|x| Some(x as f32))
                .ok_or_else(|| self.error(key, format_args!("{v} is not a number"))),
        }
    }

    /// An integer or null.
    pub fn opt_i64(&mut self, key: &str, default: Option<i64>) -> Result<Option<i64>, String> {
        if !self.map.contains_key(key) {
            self.read.insert(key.to_owned());
            return Ok(default);
        }
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.error(key, format_args!("{v} is not an integer"))),
        }
    }

    /// One of `allowed` (the first is not implied: `default` is returned when absent).
    pub fn choice(
        &mut self,
        key: &str,
        default: &'static str,
        allowed: &[&'static str],
    ) -> Result<&'static str, String> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::String(s)) => allowed
                .iter()
                .find(|a| **a == s.as_str())
                .copied()
                .ok_or_else(|| self.error(key, format_args!("`{s}` is not one of {allowed:?}"))),
            Some(v) => Err(self.error(key, format_args!("{v} is not one of {allowed:?}"))),
        }
    }

    /// A scalar, a list of numbers, or null.
    pub fn scalar_or_list(&mut self, key: &str) -> Result<Option<ScalarOrList>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| number(v).map(|x| x as f32))
                .collect::<Option<Vec<_>>>()
                .map(|l| Some(ScalarOrList::List(l)))
                .ok_or_else(|| self.error(key, "is not a list of numbers")),
            Some(v) => number(v)
                .map(|x| Some(ScalarOrList::Scalar(x as f32)))
                .ok_or_else(|| self.error(key, format_args!("{v} is not a number or a list"))),
        }
    }

    /// A list of non-negative integers, or null.
    pub fn index_list(&mut self, key: &str) -> Result<Option<Vec<usize>>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_u64().map(|x| x as usize))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| self.error(key, "is not a list of class indices")),
            Some(v) => Err(self.error(key, format_args!("{v} is not a list of class indices"))),
        }
    }

    /// A list of axes (or null).
    pub fn axes(&mut self, key: &str) -> Result<Option<Vec<i64>>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(Value::as_i64)
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| self.error(key, "is not a list of axes")),
            Some(v) => v
                .as_i64()
                .map(|a| Some(vec![a]))
                .ok_or_else(|| self.error(key, format_args!("{v} is not an axis"))),
        }
    }

    /// Requires that `key`, if given, equals `expected` (a parameter accepted only at its
    /// default because `loss-core` does not model the alternative).
    pub fn only(&mut self, key: &str, expected: &Value) -> Result<(), String> {
        match self.get(key) {
            None => Ok(()),
            Some(v) if v == expected => Ok(()),
            Some(v) => Err(self.error(key, format_args!("{v} is not supported (only {expected})"))),
        }
    }

    /// The names of the arguments read so far, given or not (a mapping asks for each parameter
    /// it knows, so after [`crate::frameworks::plan`] on no arguments these are its keywords).
    pub fn read(&self) -> impl Iterator<Item = &str> {
        self.read.iter().map(String::as_str)
    }

    /// Fails on any argument that no mapping read.
    pub fn finish(&self) -> Result<(), String> {
        match self.map.keys().find(|k| !self.read.contains(*k)) {
            Some(k) => Err(format!("unsupported parameter `{k}` for {}", self.function)),
            None => Ok(()),
        }
    }
}
