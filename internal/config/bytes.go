package config

import (
	"strconv"
	"strings"
)

// byteSize reads a positive size in bytes: a whole number, optionally with
// the suffix KiB, MiB or GiB.
func (p *parser) byteSize(name value) int64 {
	v := p.str(name)
	num, mult := v, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if s, ok := strings.CutSuffix(v, u.suffix); ok {
			num, mult = strings.TrimSpace(s), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > (1<<62)/mult {
		p.fail(name, "%q must be a positive number of bytes, optionally with KiB, MiB or GiB (e.g. 64MiB)", v)
		return 0
	}
	return n * mult
}
