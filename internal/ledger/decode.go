package ledger

import (
	"bytes"
	"time"
)

// guardFields are the fields of a record the guard holds.
type guardFields struct {
	status                  string
	actionTime, deliveredAt time.Time
	bodySum                 string
}

// decodeGuard reads the guard's fields from a ledger value as Record.Marshal
// writes it, without decoding the rest: a restore reads every record of a
// partition. A value it cannot read this way (another writer's spacing,
// escapes) goes through Unmarshal.
func decodeGuard(value []byte) (guardFields, bool) {
	if !bytes.HasPrefix(value, []byte(`{"v":1,`)) {
		return fromRecord(value)
	}
	status, ok1 := stringField(value, `"status":"`)
	action, ok2 := stringField(value, `"action_time":"`)
	sum, ok3 := stringField(value, `"body_sha256":"`)
	delivered, ok4 := stringField(value, `"delivered_at":"`)
	if !ok1 || !ok2 || !ok3 || !ok4 || (string(status) != StatusCreateDeal && string(status) != StatusPaySuccess) {
		return fromRecord(value)
	}
	at, err1 := time.Parse(time.RFC3339Nano, string(action))
	dt, err2 := time.Parse(time.RFC3339Nano, string(delivered))
	if err1 != nil || err2 != nil {
		return fromRecord(value)
	}
	st := StatusCreateDeal
	if string(status) == StatusPaySuccess {
		st = StatusPaySuccess
	}
	return guardFields{status: st, actionTime: at, deliveredAt: dt, bodySum: string(sum)}, true
}

// stringField returns the value of the first member named by prefix (`"name":"`),
// when it holds no escape.
func stringField(value []byte, prefix string) ([]byte, bool) {
	i := bytes.Index(value, []byte(prefix))
	if i < 0 {
		return nil, false
	}
	rest := value[i+len(prefix):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return nil, false
	}
	return rest[:j], true
}

func fromRecord(value []byte) (guardFields, bool) {
	r, err := Unmarshal(value)
	if err != nil {
		return guardFields{}, false
	}
	return guardFields{status: r.Status, actionTime: r.ActionTime, deliveredAt: r.DeliveredAt, bodySum: r.BodySHA256}, true
}
