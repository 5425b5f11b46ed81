// SPDX-License-Identifier: GPL-2.0-only
/*
 * hello: the smallest useful kernel module, for the hello-module example extension.
 * Logs a line when loaded and when removed.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static char *greeting = "hello from a Talos extension";
module_param(greeting, charp, 0444);
MODULE_PARM_DESC(greeting, "What to log when loaded");

static int __init hello_init(void)
{
	pr_info("hello: %s\n", greeting);
	return 0;
}

static void __exit hello_exit(void)
{
	pr_info("hello: goodbye\n");
}

module_init(hello_init);
module_exit(hello_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("Talos extensions in Rust");
MODULE_DESCRIPTION("Example out-of-tree module");
MODULE_VERSION("1.0.0");
