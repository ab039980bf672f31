package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/mapping"
)

// runValidateMapped implements `worker validate [FILE|-]`. Its error
// carries the exit status: nil when every line is ok or skipped, exit 1
// when any is invalid (already counted in the summary), exit 2 on a usage
// error, a file that cannot be opened or read, or output that cannot be
// written.
//
// It reads JSON Lines from FILE, or stdin when FILE is "-" or absent, maps
// each line as a Kafka message value without headers (plain or CloudEvents
// structured shape) and prints one JSON line per input line on stdout, so
// output line N answers input line N: {"payload":<the exact body>},
// {"skipped":"<reason>"} or {"violations":[{"field":...,"reason":...}]}.
// A line holding only whitespace holds no event and answers
// {"skipped":"blank line"}; a trailing "\r" is dropped. Lines of any
// length are read whole (the mapper rejects values above its size limit with
// a violation). A summary goes to stderr.
//
// The mapping program prog (nil: none) is applied to each line first, as
// `worker run` applies it (the line's 0-based number is $offset; $key,
// $headers and $timestamp are null or empty). A line the program turns
// into an event answers with that event too: {"mapped":<event>,"payload":…},
// {"mapped":…,"skipped":…} or {"mapped":…,"violations":…}, the violations
// pointing into the mapped event. One it yields nothing for answers
// {"skipped":"mapping produced nothing"}; one it fails on,
// {"violations":[{"field":"","reason":"mapping: …"}]}.
func runValidateMapped(args []string, cfg mapper.Config, prog *mapping.Program, stdin io.Reader, stdout, stderr io.Writer) error {
	const cmd = programName + " validate"
	if len(args) > 1 {
		return usageError(cmd, fmt.Errorf("want at most one FILE (or - for stdin), got %d arguments", len(args)))
	}
	m, err := mapper.New(cfg)
	if err != nil {
		return usageError(cmd, err)
	}
	in, name := stdin, "stdin"
	if len(args) == 1 && args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return usageError(cmd, err)
		}
		defer f.Close()
		in, name = f, args[0]
	}
	v := validator{m: m, prog: prog, out: bufio.NewWriter(stdout)}
	readErr := eachLine(in, v.line)
	if err := v.out.Flush(); err != nil && v.err == nil {
		v.err = err
	}
	switch {
	case readErr != nil:
		return usageError(cmd, fmt.Errorf("read %s: %w", name, readErr))
	case v.err != nil:
		return usageError(cmd, fmt.Errorf("write output: %w", v.err))
	}
	_, _ = fmt.Fprintf(stderr, "%d lines: %d ok, %d skipped, %d invalid\n", v.ok+v.skipped+v.invalid, v.ok, v.skipped, v.invalid)
	if v.invalid > 0 {
		return status(exitFailed)
	}
	return nil
}

// validator maps lines and writes one outcome line each.
type validator struct {
	m                    *mapper.Mapper
	prog                 *mapping.Program // nil: no mapping program
	lines                int64            // lines read so far ($offset of the next)
	head                 []byte           // opening of the current answer when mapped
	out                  *bufio.Writer
	ok, skipped, invalid int
	err                  error // first write error
}

type skippedLine struct {
	Skipped string `json:"skipped"`
}

type violationsLine struct {
	Violations []mapper.Violation `json:"violations"`
}

func (v *validator) line(value []byte) {
	if v.err != nil {
		return
	}
	offset := v.lines
	v.lines++
	if len(bytes.TrimSpace(value)) == 0 {
		v.skipped++
		v.writeJSON(skippedLine{Skipped: "blank line"})
		return
	}
	if v.prog != nil {
		mapped, err := v.prog.Apply(context.Background(), mapping.Input{Value: value, Offset: offset})
		switch {
		case errors.Is(err, mapping.ErrNothing):
			v.skipped++
			v.writeJSON(skippedLine{Skipped: err.Error()})
			return
		case err != nil:
			v.invalid++
			v.writeJSON(violationsLine{Violations: []mapper.Violation{{Reason: err.Error()}}})
			return
		}
		v.head = append(append(append(v.head[:0], `{"mapped":`...), mapped...), ',')
		defer func() { v.head = v.head[:0] }()
		value = mapped
	}
	res, err := v.m.Map(value, nil)
	var inv *mapper.InvalidEventError
	switch {
	case errors.As(err, &inv):
		v.invalid++
		v.writeJSON(violationsLine{Violations: inv.Violations})
	case err != nil: // Map returns no other error; report it as one violation all the same
		v.invalid++
		v.writeJSON(violationsLine{Violations: []mapper.Violation{{Reason: err.Error()}}})
	case res.Skipped:
		v.skipped++
		v.writeJSON(skippedLine{Skipped: res.SkipReason})
	default:
		v.ok++
		_, _ = v.out.Write(v.opening())
		_, _ = v.out.WriteString(`"payload":`)
		_, _ = v.out.Write(res.Body)
		_, v.err = v.out.WriteString("}\n")
	}
}

// opening starts an answer: "{", or {"mapped":…, when a program mapped the line.
func (v *validator) opening() []byte {
	if len(v.head) == 0 {
		return []byte("{")
	}
	return v.head
}

// writeJSON writes x, an object, as the rest of the answer after opening.
func (v *validator) writeJSON(x any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if v.err = enc.Encode(x); v.err != nil {
		return
	}
	_, _ = v.out.Write(v.opening())
	_, v.err = v.out.Write(b.Bytes()[1:])
}

// eachLine calls fn with every line of r, without its "\n" or "\r\n",
// however long the line is. The slice is only valid during the call.
func eachLine(r io.Reader, fn func([]byte)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // a line longer than the reader's buffer, assembled
	pending := false
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			pending = true
			continue
		}
		line := chunk
		if pending {
			long = append(long, chunk...)
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > 0 || err == nil {
			fn(line)
		}
		long, pending = long[:0], false
		if err != nil {
			return nil
		}
	}
}
