package replay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
)

// ErrNoAnswer means a Kafka request got no answer within
// Options.RequestTimeout: a broker address that accepts connections but
// does not speak Kafka, or a broker too busy to answer.
var ErrNoAnswer = errors.New("no answer from Kafka")

// DefaultRequestTimeout is Options.RequestTimeout when it is 0.
const DefaultRequestTimeout = 30 * time.Second

// deadlineTripper bounds every request sent through rt by d.
type deadlineTripper struct {
	rt kafka.RoundTripper
	d  time.Duration
}

var _ kafka.RoundTripper = deadlineTripper{}

// RoundTrip implements kafka.RoundTripper. An error caused by d running out
// wraps ErrNoAnswer and is not temporary. The connection's deadline, set
// from rctx, may fire before rctx's own timer: its i/o timeout counts too.
func (t deadlineTripper) RoundTrip(ctx context.Context, addr net.Addr, req kafka.Request) (kafka.Response, error) {
	rctx, cancel := context.WithTimeout(ctx, t.d)
	defer cancel()
	resp, err := t.rt.RoundTrip(rctx, addr, req)
	if err != nil && ctx.Err() == nil && (errors.Is(rctx.Err(), context.DeadlineExceeded) || timedOut(err)) {
		return nil, noAnswer{fmt.Errorf("%w within %v (%s): %w", ErrNoAnswer, t.d, addr, err)}
	}
	return resp, err
}

// timedOut reports whether err is a network timeout (a connection deadline).
func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// noAnswer is a request that got no answer in time. The broker may still
// apply it, so it is not temporary: kafka-go's writer retries temporary
// errors, and a republish sent again could land twice. The run reports
// its records as outcome unknown instead.
type noAnswer struct{ err error }

func (e noAnswer) Error() string   { return e.err.Error() }
func (e noAnswer) Unwrap() error   { return e.err }
func (e noAnswer) Temporary() bool { return false }

// requestTimeout is o.RequestTimeout or its default.
func (o Options) requestTimeout() time.Duration {
	if o.RequestTimeout <= 0 {
		return DefaultRequestTimeout
	}
	return o.RequestTimeout
}

// finishBound bounds the republish of one batch and its ledger write after
// the run was interrupted: room for the batch, the records written alone and
// the ledger write, each one request.
func (o Options) finishBound() time.Duration {
	return 4 * o.requestTimeout()
}

// bounded returns transport with every request bounded by o.RequestTimeout.
func (o Options) bounded(transport *kafka.Transport) kafka.RoundTripper {
	return deadlineTripper{rt: transport, d: o.requestTimeout()}
}
