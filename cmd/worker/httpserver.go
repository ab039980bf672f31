package main

import (
	"net/http"
	"sync/atomic"
	"time"
)

// Limits of the /metrics, /healthz and /readyz server: a scraper or a
// client that stalls, or leaves connections idle, holds a file descriptor
// and a goroutine for at most these.
const (
	httpReadHeaderTimeout = 5 * time.Second
	httpReadTimeout       = 10 * time.Second
	httpWriteTimeout      = 30 * time.Second // a /metrics answer is written well within it
	httpIdleTimeout       = 60 * time.Second
	httpMaxHeaderBytes    = 16 << 10
)

// limitHTTP sets the timeouts and the header size limit of srv.
func limitHTTP(srv *http.Server) {
	srv.ReadHeaderTimeout = httpReadHeaderTimeout
	srv.ReadTimeout = httpReadTimeout
	srv.WriteTimeout = httpWriteTimeout
	srv.IdleTimeout = httpIdleTimeout
	srv.MaxHeaderBytes = httpMaxHeaderBytes
}

// handlerSwitch serves the handler set last: the start-up endpoints until
// the worker's checks exist, then those.
type handlerSwitch struct{ h atomic.Pointer[http.Handler] }

func newHandlerSwitch(h http.Handler) *handlerSwitch {
	s := &handlerSwitch{}
	s.set(h)
	return s
}

func (s *handlerSwitch) set(h http.Handler) { s.h.Store(&h) }

func (s *handlerSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}
