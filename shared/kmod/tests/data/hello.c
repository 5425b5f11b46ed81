/* Test module source for talos-ext-kmod: not a loadable module, only an ELF object with a
 * .modinfo section shaped like modpost's. Built with `gcc -O2 -c hello.c -o hello.ko`. */
#define MODINFO(id, s) static const char __modinfo_##id[] __attribute__((section(".modinfo"), used, aligned(1))) = s
MODINFO(license, "license=GPL");
MODINFO(description, "description=talos-ext-kmod test module");
MODINFO(alias1, "alias=kmodtest-a");
MODINFO(alias2, "alias=kmodtest-b");
MODINFO(depends, "depends=");
MODINFO(name, "name=kmodtest");
MODINFO(vermagic, "vermagic=6.12.117+deb12-amd64 SMP preempt mod_unload modversions ");
int init_module(void) { return 0; }
