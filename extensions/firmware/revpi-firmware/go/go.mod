// The program's own module: its source is this directory (main.go), not an upstream module,
// so it requires nothing and go.sum is empty. The `[go]` table names this module.
module talos-extensions.local/revpi-firmware

go 1.26.0
