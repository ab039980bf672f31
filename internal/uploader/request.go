package uploader

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/signers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// poster makes one signed POST of a sync-status body, the request and its
// checks equal to what wechatpay-go's core.Client.Post does for a []byte
// body: the same headers, the same Authorization header and the same
// response checks, with the error texts the SDK gives. The signature and
// its verification are the SDK's signer and verifier; the strings they
// work on are built here, each in one allocation, because the SDK's
// formatting of them is a large part of what an upload allocates
// (docs/benchmarks.md, "Session 7: allocations per event"). The fixed
// headers are built once, in newPoster; the body goes to the connection as
// it is, unbuffered.
type poster struct {
	client     *http.Client
	url        string
	requestURI string // what the signature covers: the path and query of url
	header     http.Header
	signer     auth.Signer
	authType   string // the Authorization scheme: WECHATPAY2- and the signer's algorithm
	verifier   auth.Verifier
}

// newPoster builds the signer, the verifier and the fixed headers for cfg
// (public-key mode, or platform-certificate mode without a public key).
func newPoster(cfg *Config, client *http.Client, target string) (*poster, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("parse upload url: %w", err)
	}
	var signer auth.Signer = &signers.SHA256WithRSASigner{
		MchID: cfg.MchID, CertificateSerialNo: cfg.MchCertSerial, PrivateKey: cfg.MchPrivateKey,
	}
	if cfg.Observer != nil {
		signer = timedSigner{observer: cfg.Observer, Signer: signer}
	}
	var verifier auth.Verifier
	if cfg.WechatPayPublicKey != nil {
		verifier = verifiers.NewSHA256WithRSAPubkeyVerifier(cfg.WechatPayPublicKeyID, *cfg.WechatPayPublicKey)
	} else {
		verifier = verifiers.NewSHA256WithRSAVerifier(core.NewCertificateMapWithList([]*x509.Certificate{cfg.WechatPayCert}))
	}
	p := &poster{
		client:     client,
		url:        target,
		requestURI: u.RequestURI(),
		signer:     signer,
		authType:   "WECHATPAY2-" + signer.Algorithm(),
		verifier:   verifier,
		header: http.Header{
			consts.Accept:      {"*/*"},
			consts.ContentType: {consts.ApplicationJSON},
			consts.UserAgent:   {fmt.Sprintf(consts.UserAgentFormat, consts.Version, runtime.GOOS, runtime.Version())},
		},
	}
	// The serial the answer must be signed with: the public key's id, or
	// the platform certificate's serial.
	if serial, err := verifier.GetSerial(context.Background()); err == nil {
		p.header.Set(consts.WechatPaySerial, serial)
	}
	return p, nil
}

// post sends body, signed as-is. Like core.Client.Post it returns a nil
// result when the request could not be built or signed, a result without a
// Response on a transport error, a *core.APIError for a non-2xx answer and
// the verification's error for a 2xx answer that fails it.
func (p *poster) post(ctx context.Context, body []byte) (*core.APIResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header = p.header.Clone()
	authorization, err := p.authorization(ctx, body)
	if err != nil {
		return nil, fmt.Errorf("generate authorization: %w", err)
	}
	req.Header[consts.Authorization] = []string{authorization}
	res := &core.APIResult{Request: req}
	if res.Response, err = p.client.Do(req); err != nil {
		return res, err
	}
	if err := core.CheckResponse(res.Response); err != nil {
		return res, err
	}
	if err := p.verify(ctx, res.Response); err != nil {
		return res, err
	}
	return res, nil
}

// messageBuffers holds the buffers of signed messages (the body and about
// 100 bytes); one larger than maxPooledMessage is left to the collector, so
// the pool holds at most that many bytes per buffer.
var messageBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledMessage = 64 << 10

// authorization returns the Authorization header of a POST of body: a
// fresh nonce and the current second, the message
// "POST\n<request uri>\n<timestamp>\n<nonce>\n<body>\n" signed by the
// SDK's signer, in the SDK's header format.
func (p *poster) authorization(ctx context.Context, body []byte) (string, error) {
	var nonce [utils.NonceLength]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", err
	}
	for i, b := range nonce {
		nonce[i] = utils.NonceSymbols[b%byte(len(utils.NonceSymbols))]
	}
	var tsBuf [20]byte
	ts := strconv.AppendInt(tsBuf[:0], time.Now().Unix(), 10)

	buf := messageBuffers.Get().(*[]byte)
	msg := append((*buf)[:0], http.MethodPost...)
	msg = append(msg, '\n')
	msg = append(msg, p.requestURI...)
	msg = append(msg, '\n')
	msg = append(msg, ts...)
	msg = append(msg, '\n')
	msg = append(msg, nonce[:]...)
	msg = append(msg, '\n')
	msg = append(msg, body...)
	msg = append(msg, '\n')
	// The signer only reads the message (the SDK's signer hashes it, and
	// timedSigner passes it on): the string may share the buffer, which
	// goes back to the pool once Sign has returned.
	sig, err := p.signer.Sign(ctx, unsafe.String(unsafe.SliceData(msg), len(msg)))
	if cap(msg) <= maxPooledMessage {
		*buf = msg[:0]
		messageBuffers.Put(buf)
	}
	if err != nil {
		return "", err
	}

	const (
		mchID     = ` mchid="`
		nonceStr  = `",nonce_str="`
		timestamp = `",timestamp="`
		serialNo  = `",serial_no="`
		signature = `",signature="`
	)
	var h strings.Builder
	h.Grow(len(p.authType) + len(mchID) + len(sig.MchID) + len(nonceStr) + len(nonce) + len(timestamp) + len(ts) +
		len(serialNo) + len(sig.CertificateSerialNo) + len(signature) + len(sig.Signature) + 1)
	h.WriteString(p.authType)
	h.WriteString(mchID)
	h.WriteString(sig.MchID)
	h.WriteString(nonceStr)
	h.Write(nonce[:])
	h.WriteString(timestamp)
	h.Write(ts)
	h.WriteString(serialNo)
	h.WriteString(sig.CertificateSerialNo)
	h.WriteString(signature)
	h.WriteString(sig.Signature)
	h.WriteByte('"')
	return h.String(), nil
}

// verify checks a 2xx answer as the SDK's response validator does: the
// Wechatpay-Serial, -Signature, -Timestamp and -Nonce headers present, the
// timestamp less than five minutes from this host's clock, and the SDK's
// verifier's check of the signature over "<timestamp>\n<nonce>\n<body>\n".
// The body is read in full (up to the transport's cap) and left readable
// in resp.Body; an answer without a body (a 204) reads nothing.
func (p *poster) verify(ctx context.Context, resp *http.Response) error {
	var body []byte
	if resp.Body != nil && resp.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(resp.Body); err != nil {
			return fmt.Errorf("read response body err:[%s]", err.Error())
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	requestID := strings.TrimSpace(resp.Header.Get(consts.RequestID))
	field := func(key string) (string, error) {
		if v := strings.TrimSpace(resp.Header.Get(key)); v != "" {
			return v, nil
		}
		return "", fmt.Errorf("key `%s` is empty in header, request-id=[%s]", key, requestID)
	}
	serial, err := field(consts.WechatPaySerial)
	if err != nil {
		return err
	}
	signature, err := field(consts.WechatPaySignature)
	if err != nil {
		return err
	}
	// An absent timestamp reads as 0 (the SDK's rule), which then fails
	// the clock check.
	var ts int64
	if v, err := field(consts.WechatPayTimestamp); err == nil {
		if ts, err = strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("invalid `%s` in header, request-id=[%s], err:%w", consts.WechatPayTimestamp, requestID, err)
		}
	}
	nonce, err := field(consts.WechatPayNonce)
	if err != nil {
		return err
	}
	if math.Abs(float64(time.Now().Unix()-ts)) >= consts.FiveMinute {
		return fmt.Errorf("timestamp=[%d] expires, request-id=[%s]", ts, requestID)
	}
	var tsBuf [20]byte
	tsText := strconv.AppendInt(tsBuf[:0], ts, 10)
	var msg strings.Builder
	msg.Grow(len(tsText) + len(nonce) + len(body) + 3)
	msg.Write(tsText)
	msg.WriteByte('\n')
	msg.WriteString(nonce)
	msg.WriteByte('\n')
	msg.Write(body)
	msg.WriteByte('\n')
	if err := p.verifier.Verify(ctx, serial, msg.String(), signature); err != nil {
		return fmt.Errorf("validate verify fail serial=[%s] request-id=[%s] err=%w", serial, requestID, err)
	}
	return nil
}
