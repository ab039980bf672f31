package chaos

import (
	"os"
	"strings"
	"testing"
	"time"
)

// quotaShared runs three workers, with no rate setting, against one account
// whose quota at the sandbox (150 requests/s) all of them share: every
// event is delivered once, nothing is dead-lettered, a 429 pauses nobody,
// and the adaptive rate keeps the requests answered 429 to at most 10 %.
// Long tier only (make chaos): on a loaded machine the startup of three
// instances against a 2 s request timeout weighs too much in a short run.
func quotaShared(t *testing.T, orders int, timeout time.Duration) {
	opts := mixed(6, orders)
	opts.InvalidPercent, opts.RejectedPercent = 0, 0
	h := newHarness(t, options{sample: opts, quota: 150})
	procs := []*proc{h.start(), h.start(), h.start()}
	f, _ := h.result(timeout)
	st := h.st.Sandbox.Stats()
	share := float64(st.Throttled) / float64(max(st.Requests, 1))
	t.Logf("%d requests, %d answered 429 (%.1f %%), %d accepted", st.Requests, st.Throttled, 100*share, st.Accepted)
	if f.DLQRecords != 0 {
		t.Errorf("%d events dead-lettered; a shared quota must only slow delivery", f.DLQRecords)
	}
	if st.Throttled == 0 {
		t.Error("no request was answered 429: the quota did not bite")
	}
	if share > 0.10 {
		t.Errorf("%.1f %% of requests answered 429, want at most 10 %%", 100*share)
	}
	for _, p := range procs {
		logs, err := os.ReadFile(p.log.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(logs), "\n") {
			if strings.Contains(line, "paused; probing the API") && (strings.Contains(line, "429") || strings.Contains(line, "FREQUENCY_LIMITED")) {
				t.Errorf("worker %d paused on a 429, which never pauses: %s", p.n, line)
			}
		}
	}
}
