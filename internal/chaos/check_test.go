package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/ordersync/ordersync/internal/dlq"
	"github.com/ordersync/ordersync/internal/mapper"
	"github.com/ordersync/ordersync/internal/sample"
	"github.com/ordersync/ordersync/internal/sandbox"
)

// bodyRef names the sample event a sync-status body comes from: its order,
// its event id and its position among the order's delivered events.
type bodyRef struct {
	order, eventID string
	seq            int
}

// expectation is what a run must end with, derived from the sample events.
type expectation struct {
	events   int
	valid    map[string]bodyRef // exact body → the event that produces it
	byEvent  map[string]bodyRef // event id → ref, for every event to deliver
	lastBody map[string]string  // order → body of its last event to deliver
	dead     map[string]string  // event id → dead-letter class
	skipped  int
}

// expect maps every sample event with m (configured as the worker is) to
// learn the exact body each deliverable event uploads. With replayed,
// rejected events are expected both in the dead-letter topic (first
// attempt) and delivered (after their replay).
func expect(m *mapper.Mapper, events []sample.Event, replayed bool) (expectation, error) {
	e := expectation{
		events:   len(events),
		valid:    map[string]bodyRef{},
		byEvent:  map[string]bodyRef{},
		lastBody: map[string]string{},
		dead:     map[string]string{},
	}
	seq := map[string]int{}
	for _, ev := range events {
		switch ev.Expect {
		case sample.ExpectSkipped:
			e.skipped++
			continue
		case sample.ExpectInvalid:
			e.dead[ev.EventID] = dlq.ClassInvalidEvent
			continue
		case sample.ExpectRejected:
			e.dead[ev.EventID] = dlq.ClassRejected
			if !replayed {
				continue
			}
		}
		hs := make([]mapper.Header, len(ev.Headers))
		for i, h := range ev.Headers {
			hs[i] = mapper.Header{Key: h.Key, Value: h.Value}
		}
		res, err := m.Map(ev.Value, hs)
		if err != nil || res.Skipped {
			return e, fmt.Errorf("sample event %s expected %s does not map: %v", ev.EventID, ev.Expect, err)
		}
		ref := bodyRef{order: ev.OrderNo, eventID: ev.EventID, seq: seq[ev.OrderNo]}
		seq[ev.OrderNo]++
		if _, dup := e.valid[string(res.Body)]; dup {
			return e, fmt.Errorf("sample events share a body (event %s)", ev.EventID)
		}
		e.valid[string(res.Body)] = ref
		e.byEvent[ev.EventID] = ref
		e.lastBody[ev.OrderNo] = string(res.Body)
	}
	return e, nil
}

// observation is what a run left behind.
type observation struct {
	uploads []sandbox.Record // accepted by the sandbox, in arrival order
	dead    []kafka.Message  // the dead-letter topic
	// lifecycle holds the moments a worker process started, was killed or
	// exited: the ordering check holds within each interval between them.
	lifecycle []time.Time
}

// figures are a run's counts, quoted in docs/reliability.md.
type figures struct {
	Events      int // produced
	ToDeliver   int // events that must reach the API
	Delivered   int // distinct events the sandbox recorded
	Uploads     int // uploads the sandbox recorded, duplicates included
	DupUploads  int // Uploads − Delivered
	Regressions int // an older state of an order uploaded after a newer one, across a process boundary
	ToDLQ       int // events that must be dead-lettered
	DeadLetters int // distinct events in the dead-letter topic
	DLQRecords  int // dead-letter records, duplicates included
	DupDLQ      int // DLQRecords − DeadLetters
}

func (f figures) String() string {
	return fmt.Sprintf("events=%d to_deliver=%d delivered=%d uploads=%d dup_uploads=%d regressions_across_restarts=%d to_dlq=%d dead_lettered=%d dlq_records=%d dup_dlq=%d",
		f.Events, f.ToDeliver, f.Delivered, f.Uploads, f.DupUploads, f.Regressions, f.ToDLQ, f.DeadLetters, f.DLQRecords, f.DupDLQ)
}

// maxProblems caps the problems reported of each kind.
const maxProblems = 10

// problems collects invariant violations, a few of each kind.
type problems struct {
	list  []string
	kinds map[string]int
}

func (p *problems) add(kind, format string, args ...any) {
	if p.kinds == nil {
		p.kinds = map[string]int{}
	}
	p.kinds[kind]++
	if p.kinds[kind] <= maxProblems {
		p.list = append(p.list, kind+": "+fmt.Sprintf(format, args...))
	}
}

func (p *problems) result() []string {
	out := p.list
	kinds := make([]string, 0, len(p.kinds))
	for k := range p.kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		if n := p.kinds[k]; n > maxProblems {
			out = append(out, fmt.Sprintf("%s: %d more", k, n-maxProblems))
		}
	}
	return out
}

// check compares what a run left behind with what it had to do:
//   - every event to deliver was recorded by the sandbox at least once, and
//     nothing else was;
//   - per order, the last recorded upload is its last event's body, and
//     between two lifecycle moments no older state follows a newer one;
//   - every invalid or rejected event is in the dead-letter topic with its
//     class, and nothing else is.
//
// Duplicates are counted in the figures; bounding them is the caller's.
func check(e expectation, o observation) (figures, []string) {
	var p problems
	f := figures{Events: e.events, ToDeliver: len(e.byEvent), Uploads: len(o.uploads), ToDLQ: len(e.dead), DLQRecords: len(o.dead)}
	bounds := append([]time.Time(nil), o.lifecycle...)
	sort.Slice(bounds, func(i, j int) bool { return bounds[i].Before(bounds[j]) })
	epoch := func(at time.Time) int {
		return sort.Search(len(bounds), func(i int) bool { return bounds[i].After(at) })
	}
	type state struct{ epoch, seq int }
	last := map[string]state{}
	lastBody := map[string]string{}
	seen := map[string]int{}
	for _, r := range o.uploads {
		ref, ok := e.valid[string(r.Body)]
		if !ok {
			p.add("unexpected upload", "order %s status %s matches no event to deliver", r.OrderNo, r.Status)
			continue
		}
		seen[ref.eventID]++
		ep := epoch(r.At)
		if st, ok := last[ref.order]; ok && ref.seq < st.seq {
			if st.epoch == ep {
				p.add("order regressed within one process lifetime", "order %s: event #%d (%s) uploaded after event #%d",
					ref.order, ref.seq, ref.eventID, st.seq)
			} else {
				f.Regressions++
			}
		}
		last[ref.order] = state{epoch: ep, seq: ref.seq}
		lastBody[ref.order] = string(r.Body)
	}
	f.Delivered = len(seen)
	f.DupUploads = f.Uploads - f.Delivered
	ids := make([]string, 0, len(e.byEvent))
	for id := range e.byEvent {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if seen[id] == 0 {
			p.add("lost event", "event %s of order %s never delivered", id, e.byEvent[id].order)
		}
	}
	orders := make([]string, 0, len(e.lastBody))
	for o := range e.lastBody {
		orders = append(orders, o)
	}
	sort.Strings(orders)
	for _, order := range orders {
		if got, ok := lastBody[order]; ok && got != e.lastBody[order] {
			ref := e.valid[got]
			p.add("stale final state", "order %s ends on event #%d (%s), not on its last event", order, ref.seq, ref.eventID)
		}
	}

	dead := map[string]int{}
	for _, m := range o.dead {
		id := eventID(m)
		class := header(m, dlq.HeaderErrorClass)
		want, ok := e.dead[id]
		switch {
		case !ok:
			p.add("unexpected dead letter", "event %q dead-lettered as %q", id, class)
			continue
		case class != want:
			p.add("wrong dead-letter class", "event %s dead-lettered as %q, want %q", id, class, want)
		}
		dead[id]++
	}
	f.DeadLetters = len(dead)
	f.DupDLQ = f.DLQRecords - f.DeadLetters
	ids = ids[:0]
	for id := range e.dead {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if dead[id] == 0 {
			p.add("missing dead letter", "event %s (%s) not in the dead-letter topic", id, e.dead[id])
		}
	}
	return f, p.result()
}

// eventID returns the event id of a source or dead-letter record: the
// ce_id header (CloudEvents binary mode), else event_id (plain) or id
// (CloudEvents structured) of the JSON value.
func eventID(m kafka.Message) string {
	if id := header(m, "ce_id"); id != "" {
		return id
	}
	var v struct {
		EventID string `json:"event_id"`
		ID      string `json:"id"`
	}
	_ = json.Unmarshal(m.Value, &v) // a value that is not JSON has no id: reported as unexpected
	if v.EventID != "" {
		return v.EventID
	}
	return v.ID
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// secrets are the values that must never be logged.
type secrets struct {
	keyLines []string // each line of the private key PEM's base64 body
	tokens   []string // every login_token value of the events
}

// secretsIn collects the secrets of a run.
func secretsIn(privateKeyPEM []byte, events []sample.Event) secrets {
	var out secrets
	for _, line := range strings.Split(string(privateKeyPEM), "\n") {
		line = strings.TrimSpace(line)
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			out.keyLines = append(out.keyLines, line)
		}
	}
	seen := map[string]bool{}
	for _, ev := range events {
		var v any
		d := json.NewDecoder(bytes.NewReader(ev.Value))
		d.UseNumber()
		if d.Decode(&v) != nil {
			continue
		}
		collectTokens(v, func(tok string) {
			if !seen[tok] {
				seen[tok] = true
				out.tokens = append(out.tokens, tok)
			}
		})
	}
	return out
}

func collectTokens(v any, found func(string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "login_token" && s != "" {
				found(s)
				continue
			}
			collectTokens(x, found)
		}
	case []any:
		for _, x := range v {
			collectTokens(x, found)
		}
	}
}

// scanLogs reports every log line that carries a secret (naming only which
// kind and the line number, never the secret), a panic or a data race.
func scanLogs(name string, logs []byte, s secrets) []string {
	// Index the secrets by length so each line is scanned once per length.
	byLen := map[int]map[string]string{}
	add := func(values []string, kind string) {
		for _, v := range values {
			if byLen[len(v)] == nil {
				byLen[len(v)] = map[string]string{}
			}
			byLen[len(v)][v] = kind
		}
	}
	add(s.tokens, "a login_token value")
	add(s.keyLines, "private key material")
	var out []string
	for i, line := range bytes.Split(logs, []byte("\n")) {
	scan:
		for n, set := range byLen {
			for j := 0; j+n <= len(line); j++ {
				if kind, ok := set[string(line[j:j+n])]; ok {
					out = append(out, fmt.Sprintf("%s line %d carries %s", name, i+1, kind))
					break scan
				}
			}
		}
		if bytes.HasPrefix(line, []byte("panic:")) || bytes.Contains(line, []byte("WARNING: DATA RACE")) {
			out = append(out, fmt.Sprintf("%s line %d: %s", name, i+1, line))
		}
	}
	return out
}
