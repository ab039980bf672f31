package uploader

import (
	"context"
	"time"
)

// Attempt is one POST of an Upload as told to an AttemptFunc. It holds no
// body, header value or API message.
type Attempt struct {
	Start, End time.Time // by Config.Now
	// Result is as in Observer.UploadAttempt: delivered, rejected,
	// transient, throttled, sign_error or cancelled.
	Result     string
	HTTPStatus int    // 0 without an answer
	Code       string // the WeChat Pay code of the answer, "" without
	RequestID  string // the answer's Request-ID, "" without
}

// AttemptFunc is told of each attempt of an Upload whose ctx carries it
// (WithAttemptFunc): per call, where Observer is per Uploader. It runs on
// the goroutine that called Upload, after the attempt and before the next,
// must be cheap and must not call back into the Uploader.
type AttemptFunc func(Attempt)

type attemptFuncKey struct{}

// WithAttemptFunc returns a copy of ctx that carries f to Upload.
func WithAttemptFunc(ctx context.Context, f AttemptFunc) context.Context {
	return context.WithValue(ctx, attemptFuncKey{}, f)
}

// attemptFuncOf is the AttemptFunc ctx carries, or nil.
func attemptFuncOf(ctx context.Context) AttemptFunc {
	f, _ := ctx.Value(attemptFuncKey{}).(AttemptFunc)
	return f
}

func attemptOf(r attemptResult, start, end time.Time) Attempt {
	a := Attempt{Start: start, End: end, Result: r.kind.String(), HTTPStatus: r.status, RequestID: r.requestID}
	if r.apiErr != nil {
		a.Code = r.apiErr.Code
	}
	return a
}
