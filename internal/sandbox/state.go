package sandbox

import (
	"net/http"
	"sync"
)

// lastStates keeps each order's last accepted upload, as WeChat Pay holds
// it: the state a paid order must never leave. It is kept in CountOnly mode
// too, without the body.
type lastStates struct {
	mu sync.Mutex
	m  map[string]Record // by sub_mchid/out_order_no
}

func (l *lastStates) keep(rec Record, withBody bool) {
	if !withBody {
		rec.Body = nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]Record{}
	}
	l.m[rec.SubMchID+"/"+rec.OrderNo] = rec
}

func (l *lastStates) get(subMchID, orderNo string) (Record, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.m[subMchID+"/"+orderNo]
	return r, ok
}

func (l *lastStates) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m = nil
}

// LastState returns the last accepted upload of an order: what WeChat Pay
// would hold for it.
func (s *Server) LastState(subMchID, orderNo string) (Record, bool) {
	return s.last.get(subMchID, orderNo)
}

// handleOrder serves GET /sandbox/orders/{sub_mchid}/{out_order_no}: the
// order's last accepted state as JSON, 404 when none was accepted.
func (s *Server) handleOrder(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.LastState(r.PathValue("sub_mchid"), r.PathValue("out_order_no"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no upload of this order was accepted"})
		return
	}
	writeJSON(w, http.StatusOK, rec)
}
