package uploader_test

import (
	"context"
	"testing"

	"github.com/ordersync/ordersync/internal/sandbox"
	"github.com/ordersync/ordersync/internal/uploader"
)

// TestAttemptFuncToldOfEachAttempt: an Upload whose ctx carries an AttemptFunc tells it of every
// attempt, in order, with its result, status, code and Request-ID; an Upload without one is
// unaffected.
func TestAttemptFuncToldOfEachAttempt(t *testing.T) {
	e := newEnv(t, sandbox.Config{})
	if err := e.sb.SetFaults(sandbox.Faults{ServerErrorRate: 1, Times: 1}); err != nil {
		t.Fatal(err)
	}
	u := newUploader(t, e.config())
	var got []uploader.Attempt
	ctx := uploader.WithAttemptFunc(context.Background(), func(a uploader.Attempt) { got = append(got, a) })
	out := u.Upload(ctx, orderBody("attempts"))
	if out.Class != uploader.Delivered || out.Attempts != 2 {
		t.Fatalf("outcome = %+v, want delivered on the 2nd attempt", out)
	}
	if len(got) != 2 {
		t.Fatalf("told of %d attempts, want 2: %+v", len(got), got)
	}
	want := []struct {
		result string
		status int
		code   string
	}{{"transient", 500, "SYSTEM_ERROR"}, {"delivered", 204, ""}}
	for i, w := range want {
		a := got[i]
		if a.Result != w.result || a.HTTPStatus != w.status || a.Code != w.code || a.RequestID == "" {
			t.Errorf("attempt %d = %+v, want %s %d %q with a Request-ID", i+1, a, w.result, w.status, w.code)
		}
		if a.End.Before(a.Start) || (i > 0 && a.Start.Before(got[i-1].End)) {
			t.Errorf("attempt %d spans %v..%v, not after the one before", i+1, a.Start, a.End)
		}
	}
	if got[0].RequestID == got[1].RequestID {
		t.Errorf("both attempts have Request-ID %q", got[0].RequestID)
	}

	if out := u.Upload(context.Background(), orderBody("untold")); out.Class != uploader.Delivered || len(got) != 2 {
		t.Fatalf("upload without an AttemptFunc: %+v, told %d attempts", out, len(got))
	}
}
