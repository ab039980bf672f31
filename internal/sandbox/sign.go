package sandbox

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// authScheme is the only Authorization scheme the API accepts.
const authScheme = "WECHATPAY2-SHA256-RSA2048"

// maxSkew is the request and response timestamp window, in seconds.
const maxSkew = 300

var (
	errAuthMalformed = errors.New("authorization header malformed")
	errAuthExpired   = errors.New("timestamp outside the 5 minute window")
	errAuthUnknown   = errors.New("unknown mchid or serial_no")
	errAuthSignature = errors.New("signature does not verify")
)

type authHeader struct {
	mchID, nonce, serial, signature string
	timestamp                       int64
}

// parseAuthorization parses `WECHATPAY2-SHA256-RSA2048 k="v",...` with
// exactly the five pairs of the APIv3 Authorization scheme, in any order.
func parseAuthorization(h string) (authHeader, error) {
	var a authHeader
	params, ok := strings.CutPrefix(h, authScheme+" ")
	if !ok {
		return a, errAuthMalformed
	}
	seen := map[string]string{}
	for _, pair := range strings.Split(params, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return a, errAuthMalformed
		}
		if _, dup := seen[k]; dup {
			return a, errAuthMalformed
		}
		seen[k] = v[1 : len(v)-1]
	}
	if len(seen) != 5 {
		return a, errAuthMalformed
	}
	a.mchID, a.nonce, a.serial, a.signature = seen["mchid"], seen["nonce_str"], seen["serial_no"], seen["signature"]
	ts, err := strconv.ParseInt(seen["timestamp"], 10, 64)
	if err != nil || a.mchID == "" || a.nonce == "" || a.serial == "" || a.signature == "" {
		return a, errAuthMalformed
	}
	a.timestamp = ts
	return a, nil
}

// verifyRequest checks a request's Authorization against the merchant's
// public key: parse, ±300 s window (before the signature), known
// mchid+serial, SHA256withRSA over "METHOD\nURI\nTS\nNONCE\nBODY\n".
func (s *Server) verifyRequest(c *Credentials, authz, method, uri string, body []byte, now time.Time) error {
	a, err := parseAuthorization(authz)
	if err != nil {
		return err
	}
	if d := now.Unix() - a.timestamp; d > maxSkew || d < -maxSkew {
		return errAuthExpired
	}
	if a.mchID != c.MchID || a.serial != c.MchCertSerial {
		return errAuthUnknown
	}
	sig, err := base64.StdEncoding.DecodeString(a.signature)
	if err != nil {
		return errAuthSignature
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(method), []byte(uri), strconv.AppendInt(nil, a.timestamp, 10), []byte(a.nonce), body} {
		h.Write(part)
		h.Write([]byte{'\n'})
	}
	if rsa.VerifyPKCS1v15(&c.MchPrivateKey.PublicKey, crypto.SHA256, h.Sum(nil), sig) != nil {
		return errAuthSignature
	}
	return nil
}

// responseSigner holds one WeChat-side key and the serial it answers with.
type responseSigner struct {
	serial string
	key    *rsa.PrivateKey
	cache  atomic.Pointer[signedStamp] // benchmark mode: one signature per second
}

type signedStamp struct {
	ts        int64
	nonce     string
	signature string
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return strings.ToUpper(hex.EncodeToString(b))
}

func signMessage(key *rsa.PrivateKey, ts int64, nonce string, body []byte) string {
	msg := fmt.Sprintf("%d\n%s\n%s\n", ts, nonce, body)
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		// Only fails for keys too small for SHA-256, which GenerateCredentials never makes.
		panic(fmt.Sprintf("sign response: %v", err))
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// stamp signs an (empty or not) response body at ts. With reuse on, empty
// bodies share one signature per second.
func (rs *responseSigner) stamp(ts int64, body []byte, reuse bool) signedStamp {
	if reuse && len(body) == 0 {
		if c := rs.cache.Load(); c != nil && c.ts == ts {
			return *c
		}
	}
	st := signedStamp{ts: ts, nonce: newNonce()}
	st.signature = signMessage(rs.key, ts, st.nonce, body)
	if reuse && len(body) == 0 {
		rs.cache.Store(&st)
	}
	return st
}
