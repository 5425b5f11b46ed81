//! `cargo xtask list`: the catalog as a table (or JSON).

use std::process::ExitCode;

use anyhow::Result;
use xshell::Shell;

use crate::catalog::Catalog;
use crate::flags::{ListCmd, Verbosity};

pub fn run(sh: &Shell, cmd: ListCmd, verbosity: Verbosity) -> Result<ExitCode> {
    let catalog = Catalog::load(&sh.current_dir())?;
    let tag = &catalog.pin.talos.tag;
    let shown: Vec<&crate::catalog::Entry> =
        catalog.entries.iter().filter(|e| cmd.internal || !e.meta.is_internal()).collect();
    if cmd.json {
        for e in &shown {
            let mut v = serde_json::to_value(&e.meta)?;
            v["version_string"] = e.meta.version_string(tag).into();
            v["dir"] = e.dir.display().to_string().into();
            v["uses"] = e.uses.clone().into();
            v["used_by"] = catalog.used_by(&e.meta.name).into();
            println!("{}", serde_json::to_string(&v)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 7]> = shown
        .iter()
        .map(|e| {
            let arches: Vec<&str> = e.meta.arches.iter().map(|a| a.as_str()).collect();
            [
                e.meta.name.clone(),
                e.meta.category.clone(),
                e.meta.tier.to_string(),
                e.meta.version_string(tag),
                arches.join(","),
                e.meta.kind.to_string(),
                if e.meta.is_internal() {
                    format!("used by {}", catalog.used_by(&e.meta.name).join(","))
                } else {
                    e.uses.join(",")
                },
            ]
        })
        .collect();
    print_table(&["NAME", "CATEGORY", "TIER", "VERSION", "ARCHES", "KIND", "LIBRARIES"], &rows);
    let libs = catalog.entries.len() - catalog.extensions().count();
    if !verbosity.is_quiet() {
        eprintln!("{} extensions and {libs} internal libraries, Talos {tag}", catalog.extensions().count());
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints left-aligned columns separated by two spaces.
pub fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == N {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}
