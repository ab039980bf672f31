package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/time/rate"
)

// Account is one more merchant account of a multi-account sandbox: the
// requests its mchid signs are verified with its merchant key and answered
// with its own WeChat Pay keys.
type Account struct {
	Credentials *Credentials
	// Quota is the account's request quota, requests per second shared by
	// every caller (a token bucket holding one second's worth); past it the
	// sandbox answers 429 FREQUENCY_LIMITED. 0 = none.
	Quota float64
}

// Binding files a sub-merchant the way WeChat Pay knows it: under the
// account MchID, reported directly (service_provider: sp_mchid = MchID) or
// through a channel (channel: channel_id = ChannelID, default MchID). A
// request that reports it any other way, or signs it with another account,
// is answered 400 INVALID_REQUEST "sp_mchid与sub_mchid绑定关系不合法" with
// detail.field sub_mchid. NoAuth answers 403 NO_AUTH instead: the
// sub-merchant has not authorised the account. Sub-merchants without a
// binding are accepted as reported.
type Binding struct {
	SubMchID  string `json:"sub_mchid"`
	MchID     string `json:"mchid"`
	Mode      string `json:"mode"` // service_provider or channel
	ChannelID string `json:"channel_id,omitempty"`
	NoAuth    bool   `json:"no_auth,omitempty"`
}

// ErrBadAccounts reports Config.Accounts or Config.Bindings that cannot be used.
var ErrBadAccounts = errors.New("invalid sandbox accounts")

// MessageBinding is the API's message for a sub-merchant reported under the
// wrong account or mode.
const MessageBinding = "sp_mchid与sub_mchid绑定关系不合法"

// account is one merchant account's keys and quota.
type account struct {
	creds            *Credentials
	pubKey, platform *responseSigner
	quota            *rate.Limiter // nil = none
}

// allow takes one request from the account's quota.
func (a *account) allow() bool { return a.quota == nil || a.quota.Allow() }

func newAccount(c *Credentials, quota float64) *account {
	a := &account{
		creds:    c,
		pubKey:   &responseSigner{serial: c.WechatPayPublicKeyID, key: c.WechatPayPrivateKey},
		platform: &responseSigner{serial: c.PlatformCertSerial, key: c.PlatformPrivateKey},
	}
	if quota > 0 {
		a.quota = rate.NewLimiter(rate.Limit(quota), max(1, int(quota)))
	}
	return a
}

// setAccounts indexes the accounts and bindings of s.cfg.
func (s *Server) setAccounts() error {
	primary := newAccount(s.creds, s.cfg.Quota)
	primary.pubKey, primary.platform = s.pubKey, s.platform
	s.accounts = map[string]*account{s.creds.MchID: primary}
	for _, a := range s.cfg.Accounts {
		if a.Credentials == nil || a.Quota < 0 {
			return fmt.Errorf("sandbox config: account without credentials or with a negative quota: %w", ErrBadAccounts)
		}
		if s.accounts[a.Credentials.MchID] != nil {
			return fmt.Errorf("sandbox config: account %s listed twice: %w", a.Credentials.MchID, ErrBadAccounts)
		}
		s.accounts[a.Credentials.MchID] = newAccount(a.Credentials, a.Quota)
	}
	s.bindings = map[string]Binding{}
	for _, b := range s.cfg.Bindings {
		if s.accounts[b.MchID] == nil || (b.Mode != "service_provider" && b.Mode != "channel") {
			return fmt.Errorf("sandbox config: binding of %s: unknown account %q or mode %q: %w", b.SubMchID, b.MchID, b.Mode, ErrBadAccounts)
		}
		if b.ChannelID == "" {
			b.ChannelID = b.MchID
		}
		s.bindings[b.SubMchID] = b
	}
	return nil
}

// accountOf returns the account whose mchid signed r, else the
// Credentials' account (whose key then fails the signature check).
func (s *Server) accountOf(r *http.Request) *account {
	if len(s.accounts) > 1 {
		if a, err := parseAuthorization(r.Header.Get("Authorization")); err == nil {
			if acct := s.accounts[a.mchID]; acct != nil {
				return acct
			}
		}
	}
	return s.accounts[s.creds.MchID]
}

type bindingAnswer struct {
	status        int
	code, message string
	detail        map[string]any
}

// bindingRejection checks a valid body of sub-merchant sub against its
// binding.
func (s *Server) bindingRejection(acct *account, sub string, body []byte) (bindingAnswer, bool) {
	b, ok := s.bindings[sub]
	if !ok {
		return bindingAnswer{}, false
	}
	var ids struct {
		SpMchID   string `json:"sp_mchid"`
		ChannelID string `json:"channel_id"`
	}
	_ = json.Unmarshal(body, &ids) // the body was validated
	var wrong bool
	switch b.Mode {
	case "service_provider":
		wrong = ids.SpMchID != b.MchID || ids.ChannelID != ""
	default:
		wrong = ids.ChannelID != b.ChannelID || ids.SpMchID != ""
	}
	if wrong || acct.creds.MchID != b.MchID {
		return bindingAnswer{status: http.StatusBadRequest, code: "INVALID_REQUEST", message: MessageBinding,
			detail: map[string]any{"field": "sub_mchid", "location": "body", "issue": "sub_mchid is filed " +
				strings.ReplaceAll(b.Mode, "_", " ") + " under " + b.MchID}}, true
	}
	if b.NoAuth {
		return bindingAnswer{status: http.StatusForbidden, code: "NO_AUTH", message: "商户未授权: sub_mchid " + sub + " has not authorised " + b.MchID}, true
	}
	return bindingAnswer{}, false
}
