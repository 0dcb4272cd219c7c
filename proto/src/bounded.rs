//! Numbers whose range is part of the contract. Their only constructor checks the range, so an
//! out-of-range confidence or row index cannot exist past decoding.

/// Defines a `Copy` newtype over a number that only holds values in `min..=max`.
macro_rules! bounded {
    ($(#[$doc:meta])* $name:ident($inner:ty as $inner_name:literal), $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = $inner_name, into = $inner_name)]
        pub struct $name($inner);

        impl $name {
            pub const MIN: $inner = $min;
            pub const MAX: $inner = $max;

            pub fn new(value: $inner) -> Result<Self, $crate::Invalid> {
                Self::try_from(value)
            }

            pub fn get(self) -> $inner {
                self.0
            }
        }

        impl TryFrom<$inner> for $name {
            type Error = $crate::Invalid;

            fn try_from(value: $inner) -> Result<Self, Self::Error> {
                if (Self::MIN..=Self::MAX).contains(&value) {
                    Ok($name(value))
                } else {
                    // Every bounded type is a u8 or f64, which f64 holds exactly.
                    Err($crate::Invalid::OutOfRange {
                        value: f64::from(value),
                        min: f64::from(Self::MIN),
                        max: f64::from(Self::MAX),
                    })
                }
            }
        }

        impl From<$name> for $inner {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}
pub(crate) use bounded;
