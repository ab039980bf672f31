package uploader

import (
	"errors"
	"io"
	"net/http"
)

// maxResponseBytes caps what is read of one response body: the API's
// answers are a few hundred bytes, and a proxy or a stray server in the way
// must not make the worker hold hundreds of MiB per request in flight.
const maxResponseBytes = 1 << 20

// ErrResponseTooLarge means a response body went over maxResponseBytes; the
// attempt is a transient failure.
var ErrResponseTooLarge = errors.New("response body larger than 1 MiB")

// cappedTransport makes every response body fail with ErrResponseTooLarge
// once more than max bytes are read from it. An answer without a body (a
// 204: http.NoBody) is left as it is.
type cappedTransport struct {
	rt  http.RoundTripper
	max int64
}

func (t cappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err == nil && resp.Body != nil && resp.Body != http.NoBody {
		resp.Body = &cappedBody{rc: resp.Body, left: t.max}
	}
	return resp, err
}

type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, ErrResponseTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, ErrResponseTooLarge
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
