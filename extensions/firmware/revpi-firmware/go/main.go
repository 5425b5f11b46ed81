// revpi_mac gives a Revolution Pi's Ethernet interface the MAC address its HAT EEPROM holds.
//
// The Revolution Pi's on-board Ethernet controllers have no address of their own. The HAT
// EEPROM carries the device's base address as a custom atom, which the firmware publishes in
// the device tree (hat/custom_5, a text such as "c8:3e:a7:01:02:03"). udev runs this program
// when such an interface appears, with the interface's name and its offset from the base
// address (0 for the first port); the program sets base+offset as the interface's address
// with the SIOCSIFHWADDR ioctl and exits.
//
// Exit status: 0 when the address is set; 1 when the device tree has no such atom (not a
// Revolution Pi, or an EEPROM without it); 2 when the atom is empty; 3 on any other error.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// version is stamped at build time (-X main.version=...).
var version = "unset"

// defaultEEPROM is where the firmware publishes the HAT's base MAC address.
const defaultEEPROM = "/sys/firmware/devicetree/base/hat/custom_5"

const (
	exitNoAtom = 1
	exitEmpty  = 2
	exitError  = 3
)

// errEmpty says the atom is there but holds no address.
var errEmpty = errors.New("holds no address")

// baseAddress reads the base MAC address from the atom at path: text, possibly ending in the
// device tree's NUL and a newline.
func baseAddress(path string) (net.HardwareAddr, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text := string(bytes.TrimSpace(bytes.TrimRight(data, "\x00")))
	if text == "" {
		return nil, fmt.Errorf("%s %w", path, errEmpty)
	}
	addr, err := net.ParseMAC(text)
	if err != nil || len(addr) != 6 {
		return nil, fmt.Errorf("%s holds %q, not a 6-byte MAC address", path, text)
	}
	return addr, nil
}

// withOffset returns base+offset, the address read as a 48-bit number; an offset that leaves
// the 48 bits is an error.
func withOffset(base net.HardwareAddr, offset int64) (net.HardwareAddr, error) {
	var n uint64
	for _, b := range base {
		n = n<<8 | uint64(b)
	}
	sum := int64(n) + offset
	if sum < 0 || sum >= 1<<48 {
		return nil, fmt.Errorf("%s + %d leaves the 48-bit address space", base, offset)
	}
	out := make(net.HardwareAddr, 6)
	for i := 5; i >= 0; i-- {
		out[i] = byte(sum)
		sum >>= 8
	}
	return out, nil
}

// ifreqHwaddr is Linux's struct ifreq with the ifr_hwaddr member (a struct sockaddr), padded
// to the union's size.
type ifreqHwaddr struct {
	name   [syscall.IFNAMSIZ]byte
	family uint16
	data   [14]byte
	_      [8]byte
}

// setAddress sets the Ethernet address of the interface name.
func setAddress(name string, addr net.HardwareAddr) error {
	if len(name) == 0 || len(name) >= syscall.IFNAMSIZ {
		return fmt.Errorf("%q is not an interface name", name)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening a socket: %w", err)
	}
	defer syscall.Close(fd)
	var req ifreqHwaddr
	copy(req.name[:], name)
	req.family = syscall.ARPHRD_ETHER
	copy(req.data[:], addr)
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFHWADDR, uintptr(unsafe.Pointer(&req))); errno != 0 {
		return fmt.Errorf("setting the address of %s to %s: %w", name, addr, errno)
	}
	return nil
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("revpi_mac: ")
	eeprom := flag.String("eeprom", defaultEEPROM, "the device tree file holding the HAT's base MAC address")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [-eeprom <file>] <interface> <offset>\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if *showVersion {
		fmt.Printf("revpi_mac %s\n", version)
		return
	}
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(exitError)
	}
	name := flag.Arg(0)
	offset, err := strconv.ParseInt(flag.Arg(1), 10, 64)
	if err != nil {
		log.Printf("the offset %q is not a decimal number", flag.Arg(1))
		os.Exit(exitError)
	}
	base, err := baseAddress(*eeprom)
	switch {
	case errors.Is(err, os.ErrNotExist):
		log.Printf("%s does not exist: no base address to give %s", *eeprom, name)
		os.Exit(exitNoAtom)
	case errors.Is(err, errEmpty):
		log.Print(err)
		os.Exit(exitEmpty)
	case err != nil:
		log.Print(err)
		os.Exit(exitError)
	}
	addr, err := withOffset(base, offset)
	if err != nil {
		log.Print(err)
		os.Exit(exitError)
	}
	if err := setAddress(name, addr); err != nil {
		log.Print(err)
		os.Exit(exitError)
	}
	fmt.Printf("revpi_mac: %s: MAC address set to %s\n", name, addr)
}
