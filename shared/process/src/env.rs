//! [`Env`]: exactly the variables a command gets, nothing inherited unless asked for.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};

/// `PATH` of every command: the system directories only (no cargo, rustup or user directories).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The environment of a command, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, OsString>,
}

impl Env {
    /// An empty environment (not even `PATH`).
    pub fn empty() -> Env {
        Env::default()
    }

    /// What every [`crate::Command`] starts from: `PATH` ([`DEFAULT_PATH`]), `LC_ALL=C`, `TZ=UTC`.
    pub fn base() -> Env {
        let mut env = Env::empty();
        env.set("PATH", DEFAULT_PATH).set("LC_ALL", "C").set("TZ", "UTC");
        env
    }

    /// The calling process' whole environment, for commands that are the user's own tools
    /// (cargo, a registry client reading the user's credentials), never for build steps.
    pub fn inherited() -> Env {
        let mut env = Env::empty();
        for (name, value) in std::env::vars_os() {
            if let Ok(name) = name.into_string() {
                env.vars.insert(name, value);
            }
        }
        env
    }

    /// Sets a variable.
    pub fn set(&mut self, name: &str, value: impl AsRef<OsStr>) -> &mut Env {
        self.vars.insert(name.to_string(), value.as_ref().to_os_string());
        self
    }

    /// Copies variables from the calling process where it has them (e.g. `HOME` for a tool that
    /// reads the user's configuration).
    pub fn pass_through(&mut self, names: &[&str]) -> &mut Env {
        for name in names {
            if let Some(value) = std::env::var_os(name) {
                self.vars.insert(name.to_string(), value);
            }
        }
        self
    }

    /// Appends space-separated words to a variable (sets it when unset or empty).
    pub fn append(&mut self, name: &str, words: &str) -> &mut Env {
        let value = match self.vars.get(name) {
            Some(old) if !old.is_empty() => {
                let mut v = old.clone();
                v.push(" ");
                v.push(words);
                v
            }
            _ => OsString::from(words),
        };
        self.vars.insert(name.to_string(), value);
        self
    }

    /// Removes a variable.
    pub fn remove(&mut self, name: &str) -> &mut Env {
        self.vars.remove(name);
        self
    }

    /// A variable's value.
    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(name).map(OsString::as_os_str)
    }

    /// A variable's value as text (lossy).
    pub fn get_str(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| v.to_string_lossy().into_owned())
    }

    /// All variables, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &OsStr)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_os_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_is_small_and_fixed() {
        let env = Env::base();
        let names: Vec<&str> = env.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["LC_ALL", "PATH", "TZ"]);
        assert_eq!(env.get_str("PATH").as_deref(), Some(DEFAULT_PATH));
    }

    #[test]
    fn append_and_remove() {
        let mut env = Env::empty();
        env.append("CFLAGS", "-O2").append("CFLAGS", "-g0").set("X", "1").remove("X");
        assert_eq!(env.get_str("CFLAGS").as_deref(), Some("-O2 -g0"));
        assert_eq!(env.get("X"), None);
    }
}
