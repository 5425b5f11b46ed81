//! Recipe for the internal library `libtirpc`: the upstream autotools project configured as the
//! upstream extension configures it (`--disable-gssapi --enable-rpcdb`), built as a static
//! library into the stage's sysroot (`usr/include/tirpc`, `usr/lib/libtirpc.a`, `libtirpc.pc`).
//!
//! musl has no `<sys/queue.h>`, which libtirpc includes; like the upstream extension (its
//! `patches/sys-queue.h`), the recipe puts the BSD header into the sysroot first
//! (`files/sys-queue.h`, glibc's copy of the 4.4BSD file, BSD-3-Clause), where it stays for
//! dependents that include libtirpc's headers.

use talos_ext_build::prelude::*;

/// Builds libtirpc into the sysroot for one arch.
pub fn recipe(s: &mut Stage) -> Result<()> {
    let queue = s.input("files/sys-queue.h")?;
    let dest = s.work_dir().join("sysroot/usr/include/sys");
    std::fs::create_dir_all(&dest).with_context(|| format!("creating {}", dest.display()))?;
    std::fs::copy(&queue, dest.join("queue.h")).with_context(|| format!("copying {}", queue.display()))?;
    let src = s.source("libtirpc")?;
    s.autotools("libtirpc", &src).configure_args(["--disable-gssapi", "--enable-rpcdb"]).into_sysroot().run()?;
    Ok(())
}

fn main() {
    talos_ext_build::library_script(recipe)
}
