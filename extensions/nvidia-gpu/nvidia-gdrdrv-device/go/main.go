// nvidia-gdrdrv-device creates the character device node of NVIDIA's GPUDirect RDMA copy
// driver (gdrcopy's kernel module, gdrdrv) on a Talos node.
//
// The module registers a dynamic major number when it is loaded but no udev rule makes its
// node, so this program waits until the driver shows up among the character devices of
// /proc/devices, then (re)creates /dev/gdrdrv with that major number, minor 0 and mode 0666,
// and exits. It runs as an extension service with the node's /dev bind-mounted.
//
// Every path is a flag, so that the program can be tried on a listing and a directory of
// one's own: -devices (the listing), -node (the node to create). -timeout makes it give up.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// version is stamped at build time (-X main.version=...).
var version = "unset"

// driver is the name gdrdrv registers its character device under.
const driver = "gdrdrv"

// nodeMode is the node's permission bits: every user may map GPU memory through it.
const nodeMode = 0o666

// errNotRegistered says the listing has no character device of that name (yet).
var errNotRegistered = errors.New("not registered")

// charMajor returns the major number of the character device `name` in a /proc/devices
// listing. Block devices (the section after "Block devices:") never match.
func charMajor(r io.Reader, name string) (uint32, error) {
	section := ""
	scanner := bufio.NewScanner(r)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if strings.HasSuffix(line, ":") {
			section = line
			continue
		}
		fields := strings.Fields(line)
		if section != "Character devices:" || len(fields) != 2 || fields[1] != name {
			continue
		}
		major, err := strconv.ParseUint(fields[0], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("major number %q of %s: %w", fields[0], name, err)
		}
		return uint32(major), nil
	}
	if err := scanner.Err(); err != nil {
		return 0, err
	}
	return 0, errNotRegistered
}

// lookup reads the listing at path once.
func lookup(path string) (uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	major, err := charMajor(f, driver)
	if err != nil && !errors.Is(err, errNotRegistered) {
		return 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return major, err
}

// waitForMajor polls the listing every interval until the driver is registered, or until
// timeout has passed (0: forever).
func waitForMajor(path string, interval, timeout time.Duration) (uint32, error) {
	start := time.Now()
	announced := false
	for {
		major, err := lookup(path)
		if err == nil {
			return major, nil
		}
		if !errors.Is(err, errNotRegistered) {
			return 0, err
		}
		if timeout > 0 && time.Since(start) >= timeout {
			return 0, fmt.Errorf("%s is not registered as a character device in %s after %s", driver, path, timeout)
		}
		if !announced {
			log.Printf("waiting for %s to register in %s", driver, path)
			announced = true
		}
		time.Sleep(interval)
	}
}

// mkdev encodes a device number the way Linux's new_encode_dev does (glibc's makedev).
func mkdev(major, minor uint32) uint64 {
	return uint64(minor&0xff) | uint64(major&0xfff)<<8 | uint64(minor&^0xff)<<12 | uint64(major&^0xfff)<<32
}

// createNode replaces whatever is at path with the character device major:0, mode 0666
// whatever the umask, and checks the result.
func createNode(path string, major uint32) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the old %s: %w", path, err)
	}
	dev := mkdev(major, 0)
	if err := syscall.Mknod(path, syscall.S_IFCHR|nodeMode, int(dev)); err != nil {
		return fmt.Errorf("creating the character device %s (%d:0): %w", path, major, err)
	}
	if err := os.Chmod(path, nodeMode); err != nil {
		return fmt.Errorf("setting the mode of %s: %w", path, err)
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFCHR || uint64(st.Rdev) != dev || st.Mode&0o7777 != nodeMode {
		return fmt.Errorf("%s is not the character device %d:0 with mode %#o after creating it (mode %#o, rdev %#x)",
			path, major, nodeMode, st.Mode, st.Rdev)
	}
	return nil
}

func main() {
	devices := flag.String("devices", "/proc/devices", "the kernel's list of registered device drivers")
	node := flag.String("node", "/dev/"+driver, "the device node to create")
	interval := flag.Duration("interval", time.Second, "how often to look for the driver")
	timeout := flag.Duration("timeout", 0, "give up after this long (0: wait forever)")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("nvidia-gdrdrv-device", version)
		return
	}
	log.SetFlags(0)
	log.SetPrefix("nvidia-gdrdrv-device: ")
	if flag.NArg() != 0 {
		log.Fatalf("unexpected arguments: %q", flag.Args())
	}
	major, err := waitForMajor(*devices, *interval, *timeout)
	if err != nil {
		log.Fatal(err)
	}
	if err := createNode(*node, major); err != nil {
		log.Fatal(err)
	}
	log.Printf("created %s: character device %d:0, mode %#o", *node, major, nodeMode)
}
