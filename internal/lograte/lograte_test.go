package lograte

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

func TestWarnWritesFirstThenOnePerIntervalWithCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(30 * time.Second)
		var buf bytes.Buffer
		log := zerolog.New(&buf)
		warn := func(key string) {
			l.Warn(&log, key).Err(errors.New("broker unreachable")).Msg("fetch failed, retrying")
		}

		warn("fetch orders/0") // written
		for i := 0; i < 29; i++ {
			time.Sleep(time.Second)
			warn("fetch orders/0") // left out: 29
		}
		warn("fetch orders/1")  // another key: written
		time.Sleep(time.Second) // 30 s after the first
		warn("fetch orders/0")  // written, repeated=29
		time.Sleep(time.Second)
		warn("fetch orders/0") // left out

		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		want := []string{
			`{"level":"warn","error":"broker unreachable","message":"fetch failed, retrying"}`,
			`{"level":"warn","error":"broker unreachable","message":"fetch failed, retrying"}`,
			`{"level":"warn","repeated":29,"error":"broker unreachable","message":"fetch failed, retrying"}`,
		}
		if len(lines) != len(want) {
			t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
		}
		for i := range want {
			if lines[i] != want[i] {
				t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], want[i])
			}
		}
	})
}

func TestAllowConcurrentCountsEveryRepeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(time.Minute)
		var wg sync.WaitGroup
		var mu sync.Mutex
		written := 0
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 100; i++ {
					if ok, _ := l.Allow("k"); ok {
						mu.Lock()
						written++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		time.Sleep(time.Minute)
		ok, left := l.Allow("k")
		if written != 1 || !ok || left != 799 {
			t.Fatalf("written %d, then ok=%v left=%d; want 1, true, 799", written, ok, left)
		}
	})
}
