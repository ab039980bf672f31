package uploader

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 4, 30, 0, 0, time.UTC)
	tests := []struct {
		give string
		want time.Duration
	}{
		{give: "", want: 0},
		{give: "3", want: 3 * time.Second},
		{give: " 120 ", want: 2 * time.Minute},
		{give: "0", want: 0},
		{give: "-5", want: 0},
		{give: now.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second},
		{give: now.Add(-time.Minute).Format(http.TimeFormat), want: 0},
		{give: "soon", want: 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.give, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestAPIErrorIsOneLine(t *testing.T) {
	e := &APIError{StatusCode: 400, Code: "PARAM_ERROR", Message: "参数错误\n第二行", Field: "/dish_list/0/unit", RequestID: "R1"}
	want := "wechat pay answered 400 PARAM_ERROR: 参数错误 第二行 (field /dish_list/0/unit) request-id R1"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestClassifyWithoutCode: a 4xx without a WeChat Pay error code is no
// verdict on the event — except a 413, which says the body itself is too
// large, whoever answered.
func TestClassifyWithoutCode(t *testing.T) {
	now := time.Now()
	tests := []struct {
		status int
		want   kind
	}{
		{http.StatusNotFound, kindTransient},
		{http.StatusMethodNotAllowed, kindTransient},
		{http.StatusRequestEntityTooLarge, kindRejected},
	}
	for _, tt := range tests {
		r := classify(context.Background(), nil, &core.APIError{StatusCode: tt.status, Header: http.Header{}}, now)
		if r.kind != tt.want {
			t.Errorf("HTTP %d without a code: %v, want %v", tt.status, r.kind, tt.want)
		}
		if tt.want == kindTransient && !errors.Is(r.err, ErrNoCode) {
			t.Errorf("HTTP %d without a code: error %v, want ErrNoCode", tt.status, r.err)
		}
		if tt.want == kindRejected && (r.apiErr == nil || r.apiErr.Message == "" || r.status != tt.status) {
			t.Errorf("HTTP %d without a code: %+v, want the status and a message for the dead letter", tt.status, r)
		}
	}
}
