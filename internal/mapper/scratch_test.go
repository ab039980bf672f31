package mapper

import (
	"bytes"
	"errors"
	"math"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"weak"
)

// largeOrder is an event with more dishes than a pooled scratch keeps, each
// with property arrays longer than a prop holds inline.
func largeOrder(t testing.TB) []byte {
	props := map[string]any{"taste": []any{"辣", "麻", "咸", "甜", "酸", "鲜"}, "cuisine": []any{"炒"},
		"main_material": "鸡", "ingredients": []any{"葱", "姜", "蒜", "椒", "盐"}}
	dishes := make([]any, maxPooledDishes+6)
	for i := range dishes {
		dishes[i] = map[string]any{"dish_no": strconv.Itoa(i + 1), "name": "菜" + strconv.Itoa(i), "price": 100 + i,
			"unit": "BY_SHARE", "count": num("1"), "properties": props}
	}
	return build(t, "", set("/order/dishes", dishes))
}

// TestMapKeepsEventsApart maps every golden input, the five-dish event and
// an order larger than the pooled memory keeps, in one order and then in
// reverse and from several goroutines: each outcome (body or violations, and
// the identifying strings) is the same every time, and a body returned
// earlier is not changed by later calls.
func TestMapKeepsEventsApart(t *testing.T) {
	type input struct {
		m       *Mapper
		value   []byte
		headers []Header
	}
	var inputs []input
	for _, file := range goldenInputs(t) {
		mode, value, headers := goldenCase(t, file)
		inputs = append(inputs, input{testMapper(t, mode), value, headers})
	}
	sp := testMapper(t, ModeServiceProvider)
	inputs = append(inputs, input{m: sp, value: fiveDishes(t)}, input{m: sp, value: largeOrder(t)},
		input{m: sp, value: []byte(baseEvent)})
	outcome := func(in input) []byte {
		res, err := in.m.Map(in.value, in.headers)
		ids := res.EventID + "|" + res.OrderNo + "|" + res.SubMchID + "|" + res.TransactionID + "|"
		var inv *InvalidEventError
		if errors.As(err, &inv) {
			ids += inv.EventID + "|" + inv.OrderNo + "|"
		}
		return append([]byte(ids), outcomeLine(t, res, err)...)
	}
	first := make([][]byte, len(inputs))
	kept := make([][]byte, len(inputs)) // a copy, to see that first[i] is not written later
	for i, in := range inputs {
		first[i] = outcome(in)
		kept[i] = bytes.Clone(first[i])
	}
	for _, i := range []int{len(inputs) - 3, len(inputs) - 2} {
		if !bytes.Contains(first[i], []byte(`|{"payload":`)) {
			t.Fatalf("input %d is not mapped: %s", i, first[i])
		}
	}
	for i := len(inputs) - 1; i >= 0; i-- {
		if got := outcome(inputs[i]); !bytes.Equal(got, first[i]) {
			t.Errorf("input %d mapped after the others:\n%s\nwant\n%s", i, got, first[i])
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for k := range 3 * len(inputs) {
				i := (k + g) % len(inputs)
				if got := outcome(inputs[i]); !bytes.Equal(got, first[i]) {
					t.Errorf("input %d mapped concurrently:\n%s\nwant\n%s", i, got, first[i])
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range first {
		if !bytes.Equal(first[i], kept[i]) {
			t.Errorf("outcome of input %d changed after later calls:\n%s\nwant\n%s", i, first[i], kept[i])
		}
	}
}

// TestMapAllocations bounds what mapping the five-dish event allocates: the
// body, the Result's strings and little else.
func TestMapAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops pooled memory at random")
	}
	m := testMapper(t, "")
	value := fiveDishes(t)
	mapOne := func() {
		if _, err := m.Map(value, nil); err != nil {
			t.Fatal(err)
		}
	}
	mapOne()
	const maxAllocs, maxBytes = 4, 2200
	// The least of three rounds: another test's goroutine allocating
	// meanwhile can only add to a round.
	allocs, bytes := math.Inf(1), uint64(math.MaxUint64)
	for range 3 {
		allocs = min(allocs, testing.AllocsPerRun(50, mapOne))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const runs = 50
		for range runs {
			mapOne()
		}
		runtime.ReadMemStats(&after)
		bytes = min(bytes, (after.TotalAlloc-before.TotalAlloc)/runs)
	}
	t.Logf("%.0f allocations, %d bytes per event", allocs, bytes)
	if allocs > maxAllocs || bytes > maxBytes {
		t.Errorf("mapping the five-dish event allocates %.0f times, %d bytes; want at most %d and %d", allocs, bytes, maxAllocs, maxBytes)
	}
}

// TestMapKeepsNoValueAlive checks that the memory a Map call gives back to
// its pool does not point into the message value: once the caller drops the
// value and the Result, one collection frees it. The large order is also
// checked token by token (more '{' and '[' than maxDepth).
func TestMapKeepsNoValueAlive(t *testing.T) {
	m := testMapper(t, "")
	for name, event := range map[string][]byte{"five dishes": fiveDishes(t), "large order": largeOrder(t)} {
		valuePtr := func() weak.Pointer[byte] {
			value := bytes.Clone(event)
			if _, err := m.Map(value, nil); err != nil {
				t.Fatal(err)
			}
			return weak.Make(&value[0])
		}()
		runtime.GC()
		if valuePtr.Value() != nil {
			t.Errorf("%s: the message value is still reachable after Map returned", name)
		}
	}
}
