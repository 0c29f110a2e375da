package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat. It
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuSeconds returns the user plus system CPU time that the processes pids
// have used so far, from /proc/<pid>/stat. A process that has gone away
// counts as zero.
func cpuSeconds(pids []int) float64 {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold spaces: the fields
		// that follow start after the last ')'. utime and stime are fields 14
		// and 15 (1-based), so 12th and 13th after the state (field 3).
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return float64(ticks) / clockTicks
}

// memory is a process's resident set size now and at its peak, in bytes.
type memory struct {
	RSS, HWM int64
}

// readMemory sums VmRSS and VmHWM of pids from /proc/<pid>/status.
func readMemory(pids []int) memory {
	var m memory
	for _, pid := range pids {
		f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			var dst *int64
			switch {
			case strings.HasPrefix(line, "VmRSS:"):
				dst = &m.RSS
			case strings.HasPrefix(line, "VmHWM:"):
				dst = &m.HWM
			default:
				continue
			}
			fs := strings.Fields(line)
			if len(fs) >= 2 {
				kib, _ := strconv.ParseInt(fs[1], 10, 64)
				*dst += kib << 10
			}
		}
		f.Close()
	}
	return m
}

// resetPeak resets VmHWM of pids to their current RSS (Linux clear_refs
// "5"). It reports whether that worked for all of them; when it did not,
// callers fall back to sampling VmRSS.
func resetPeak(pids []int) bool {
	ok := true
	for _, pid := range pids {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
			ok = false
		}
	}
	return ok
}

// childrenOf returns the pids whose parent is ppid, by scanning /proc.
func childrenOf(ppid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) >= 2 && f[1] == strconv.Itoa(ppid) {
			out = append(out, pid)
		}
	}
	return out
}

// loadAverage returns the 1-minute load average from /proc/loadavg, or -1.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
