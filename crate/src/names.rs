//! Enums spelled by name in configs, on the command line and in URLs (datasets, presets,
//! backends, optimisers, services...): one way to parse and print them, so that every host
//! refuses a wrong name with the same message: the field, the value and the names allowed.
//!
//! An enum with an inherent `ALL` (every value) and `name(self)` gets [`Named`], `FromStr` and
//! `Display` from one line: `named!(Preset, "preset")`.

use crate::error::{Error, Result};

/// A closed set of values, each with one name.
pub trait Named: Copy + 'static {
    /// The field a value fills, as errors name it (`dataset`, `preset`...).
    const FIELD: &'static str;
    /// Every value, in the order they are listed.
    const VALUES: &'static [Self];
    /// Older or alternative spellings, with the value each stands for.
    const ALIASES: &'static [(&'static str, Self)] = &[];

    /// The value's name.
    fn label(self) -> &'static str;
}

/// Every name of `T`, comma-separated, in listing order.
pub fn list<T: Named>() -> String {
    let names: Vec<&str> = T::VALUES.iter().map(|v| v.label()).collect();
    names.join(", ")
}

/// The value of `T` called `s` (or spelled so by an alias); the error names the field, the value
/// and every allowed name.
pub fn parse<T: Named>(s: &str) -> Result<T> {
    T::VALUES
        .iter()
        .copied()
        .find(|v| v.label() == s)
        .or_else(|| T::ALIASES.iter().find(|(a, _)| *a == s).map(|(_, v)| *v))
        .ok_or_else(|| {
            Error::config(
                T::FIELD,
                format!(
                    "unknown {} {s:?} (expected one of {})",
                    T::FIELD,
                    list::<T>()
                ),
            )
        })
}

/// Implements [`Named`], `FromStr` (errors from [`parse`]) and `Display` (the name) for an enum
/// with an inherent `ALL` array and `name(self) -> &'static str`:
/// `named!(Type, "field")` or `named!(Type, "field", aliases: ["old" => Type::New])`.
#[macro_export]
macro_rules! named {
    ($type:ty, $field:literal $(, aliases: [$($alias:literal => $value:expr),* $(,)?])?) => {
        impl $crate::names::Named for $type {
            const FIELD: &'static str = $field;
            const VALUES: &'static [Self] = &<$type>::ALL;
            $(const ALIASES: &'static [(&'static str, Self)] = &[$(($alias, $value)),*];)?

            fn label(self) -> &'static str {
                <$type>::name(self)
            }
        }

        impl ::std::str::FromStr for $type {
            type Err = $crate::Error;

            fn from_str(s: &str) -> $crate::Result<Self> {
                $crate::names::parse(s)
            }
        }

        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(<$type>::name(*self))
            }
        }
    };
}
