package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, which
// the Linux user-space ABI fixes at 100 on every architecture Go supports.
const userHZ = 100

// errProcFormat reports a /proc file that does not read as documented in proc(5).
var errProcFormat = errors.New("unexpected /proc format")

// procCPU returns the user plus system CPU time the process has used.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time: %w", err)
	}
	return parseStat(string(b))
}

// parseStat reads utime and stime (fields 14 and 15) of a /proc/<pid>/stat
// line. The command name in field 2 may hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseStat(line string) (time.Duration, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: %w", errProcFormat)
	}
	f := strings.Fields(line[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %w", errProcFormat)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: %w", errProcFormat)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// memory is a process's resident set now and its peak.
type memory struct {
	RSS, HWM uint64 // bytes
}

// procMemory reads VmRSS and VmHWM of the process.
func procMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, fmt.Errorf("read memory: %w", err)
	}
	defer f.Close()
	return parseStatus(bufio.NewScanner(f))
}

// parseStatus reads the VmRSS and VmHWM lines ("VmHWM:	   12345 kB").
func parseStatus(sc *bufio.Scanner) (memory, error) {
	var m memory
	var seen int
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return memory{}, fmt.Errorf("status %s: %w", key, errProcFormat)
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("status %s: %w", key, errProcFormat)
		}
		if key == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.HWM = kb << 10
		}
		seen++
	}
	if err := sc.Err(); err != nil {
		return memory{}, fmt.Errorf("status: %w", err)
	}
	if seen != 2 {
		return memory{}, fmt.Errorf("status: no VmRSS/VmHWM: %w", errProcFormat)
	}
	return m, nil
}

// machine describes where the figures were taken.
func machine() (cpus int, model string) {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 0, "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(key) {
		case "processor":
			cpus++
		case "model name":
			if model == "" {
				model = strings.TrimSpace(val)
			}
		}
	}
	if model == "" {
		model = "unknown"
	}
	return cpus, model
}

// loadAvg is the 1-minute load average (0 if unreadable): how busy the
// machine was besides the benchmark.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
