package uploader

import (
	"encoding/json"
	"strings"
)

// redacted replaces an event's own secret in an API message.
const redacted = "[redacted]"

// bodySecrets returns the values of body that must never reach a log or a
// dead letter even when an answer echoes them: the login token and the
// payer's openid or sub_openid.
func bodySecrets(body []byte) []string {
	var b struct {
		LoginToken string `json:"login_token"`
		OpenID     string `json:"openid"`
		SubOpenID  string `json:"sub_openid"`
	}
	if json.Unmarshal(body, &b) != nil {
		return nil
	}
	var out []string
	for _, s := range []string{b.LoginToken, b.OpenID, b.SubOpenID} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// redactText replaces every secret in s.
func redactText(s string, secrets []string) string {
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return s
}

// redactedError is an error whose text has the event's secrets replaced;
// errors.Is and errors.As still see the original chain.
type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// redactResult removes body's secrets (bodySecrets) from the message and
// the error of r. The body is read only when r has a message or an error:
// a delivered attempt has nothing to redact.
func redactResult(r attemptResult, body []byte) attemptResult {
	if r.apiErr == nil && r.err == nil {
		return r
	}
	secrets := bodySecrets(body)
	if len(secrets) == 0 {
		return r
	}
	if r.apiErr != nil {
		r.apiErr.Message = redactText(r.apiErr.Message, secrets)
	}
	if r.err != nil {
		if text := redactText(r.err.Error(), secrets); text != r.err.Error() {
			r.err = &redactedError{err: r.err, text: text}
		}
	}
	return r
}
