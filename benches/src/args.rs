//! A tiny `--name value` argument reader for the bench binaries (no clap: keeps compile cost down).

use std::collections::HashMap;
use std::str::FromStr;

/// Positional arguments and `--name value` options.
#[derive(Debug, Clone, Default)]
pub struct Args {
    positional: Vec<String>,
    options: HashMap<String, String>,
}

impl Args {
    /// Reads the process's arguments (without the program name).
    ///
    /// # Errors
    /// When an option has no value.
    pub fn from_env() -> crate::Result<Self> {
        Self::parse(std::env::args().skip(1))
    }

    /// Parses `args`.
    ///
    /// # Errors
    /// When an option has no value.
    pub fn parse(args: impl IntoIterator<Item = String>) -> crate::Result<Self> {
        let mut out = Args::default();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            if let Some(name) = arg.strip_prefix("--") {
                let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                out.options.insert(name.to_owned(), value);
            } else {
                out.positional.push(arg);
            }
        }
        Ok(out)
    }

    /// The `i`-th positional argument.
    pub fn positional(&self, i: usize) -> Option<&str> {
        self.positional.get(i).map(String::as_str)
    }

    /// Option `--name` parsed as `T`, or `default` when absent.
    ///
    /// # Errors
    /// When the value does not parse.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> crate::Result<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.options.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| format!("--{name} {v}: {e}").into()),
        }
    }

    /// A comma-separated list option, or `default` when absent.
    ///
    /// # Errors
    /// When an element does not parse.
    pub fn list<T>(&self, name: &str, default: &[T]) -> crate::Result<Vec<T>>
    where
        T: FromStr + Clone,
        T::Err: std::fmt::Display,
    {
        match self.options.get(name) {
            None => Ok(default.to_vec()),
            Some(v) => v
                .split(',')
                .map(|p| {
                    p.trim()
                        .parse()
                        .map_err(|e| format!("--{name} {p}: {e}").into())
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_options_and_positionals() {
        let a = Args::parse([
            "child".into(),
            "--sets".into(),
            "12".into(),
            "--c".into(),
            "1,8".into(),
        ])
        .unwrap();
        assert_eq!(a.positional(0), Some("child"));
        assert_eq!(a.get("sets", 0u64).unwrap(), 12);
        assert_eq!(a.get("missing", 3u64).unwrap(), 3);
        assert_eq!(a.list("c", &[32usize]).unwrap(), vec![1, 8]);
        assert!(a.get::<u64>("c", 0).is_err());
        assert!(Args::parse(["--x".into()]).is_err());
    }
}
