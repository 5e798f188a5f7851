// runc-bounded runs runc with every container's capabilities cut down to the capability bounding
// set of the caller. These VMs lack CAP_SYS_RESOURCE in their bounding set, so runc fails on any
// container asking for it ("unable to apply caps: operation not permitted"), which includes every
// --privileged container: kind's nodes and, inside them, privileged pods such as kube-proxy.
//
// Registered as the OCI runtime of dockerd (and of containerd inside the kind nodes), it rewrites
// the bundle's config.json on create/run and the --process file on exec, then execs the real runc.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// capNames lists Linux capabilities by bit number (linux/capability.h).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

func main() {
	real := realRunc()
	args := os.Args[1:]
	if err := boundCapabilities(args); err != nil {
		fmt.Fprintf(os.Stderr, "runc-bounded: %v\n", err)
		os.Exit(1)
	}
	argv := append([]string{real}, args...)
	if err := syscall.Exec(real, argv, os.Environ()); err != nil {
		fmt.Fprintf(os.Stderr, "runc-bounded: exec %s: %v\n", real, err)
		os.Exit(1)
	}
}

// realRunc is $RUNC_BOUNDED_REAL or the first runc found in the usual system paths.
func realRunc() string {
	if p := os.Getenv("RUNC_BOUNDED_REAL"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc.real"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "runc"
}

// boundCapabilities edits the spec file that the runc sub-command in args will read.
func boundCapabilities(args []string) error {
	missing, err := capsOutsideBoundingSet()
	if err != nil || len(missing) == 0 {
		return err
	}
	sub, rest := subcommand(args)
	switch sub {
	case "create", "run":
		bundle := flagValue(rest, "bundle", "b")
		if bundle == "" {
			bundle = "."
		}
		return rewrite(filepath.Join(bundle, "config.json"), missing, func(spec map[string]any) map[string]any {
			process, _ := spec["process"].(map[string]any)
			return process
		})
	case "exec":
		if file := flagValue(rest, "process", "p"); file != "" {
			return rewrite(file, missing, func(process map[string]any) map[string]any { return process })
		}
	}
	return nil
}

// subcommand skips runc's global flags (all of the form --flag value or --flag=value, except the
// boolean ones) and returns the sub-command and what follows it.
func subcommand(args []string) (string, []string) {
	boolean := map[string]bool{"--debug": true, "--systemd-cgroup": true, "--no-pivot": true, "--help": true, "-h": true, "--version": true, "-v": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a, args[i+1:]
		}
		if !boolean[a] && !strings.Contains(a, "=") {
			i++ // skip the flag's value
		}
	}
	return "", nil
}

// flagValue finds --long VALUE, --long=VALUE, -short VALUE (also with a single dash for long).
func flagValue(args []string, long, short string) string {
	for i, a := range args {
		for _, name := range []string{"--" + long, "-" + long, "-" + short} {
			if a == name && i+1 < len(args) {
				return args[i+1]
			}
			if strings.HasPrefix(a, name+"=") {
				return strings.TrimPrefix(a, name+"=")
			}
		}
	}
	return ""
}

// rewrite drops the missing capabilities from the process object that pick finds in file.
func rewrite(file string, missing map[string]bool, pick func(map[string]any) map[string]any) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep large integers (memory limits, ids) exact
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	process := pick(doc)
	caps, _ := process["capabilities"].(map[string]any)
	if caps == nil {
		return nil
	}
	changed := false
	for set, v := range caps {
		list, _ := v.([]any)
		kept := list[:0:0]
		for _, c := range list {
			if name, _ := c.(string); missing[name] {
				changed = true
				continue
			}
			kept = append(kept, c)
		}
		caps[set] = kept
	}
	if !changed {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(file, out, 0o600)
}

// capsOutsideBoundingSet returns the capability names whose bit is clear in our CapBnd.
func capsOutsideBoundingSet() (map[string]bool, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if hex, ok := strings.CutPrefix(s.Text(), "CapBnd:"); ok {
			bnd, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			if err != nil {
				return nil, fmt.Errorf("CapBnd: %w", err)
			}
			missing := map[string]bool{}
			for bit, name := range capNames {
				if bnd&(1<<bit) == 0 {
					missing[name] = true
				}
			}
			return missing, nil
		}
	}
	return nil, fmt.Errorf("no CapBnd in /proc/self/status")
}
