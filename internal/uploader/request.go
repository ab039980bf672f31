package uploader

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"runtime"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/credentials"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/signers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
)

// poster makes one signed POST of a sync-status body, the request and its
// checks equal to what wechatpay-go's core.Client.Post does for a []byte
// body: the same headers, the Authorization header from the SDK's
// credential, the answer checked by core.CheckResponse and verified by the
// SDK's response validator. The fixed headers are built once, in newPoster;
// the body goes to the connection as it is, unbuffered.
type poster struct {
	client     *http.Client
	url        string
	requestURI string // what the signature covers: the path and query of url
	header     http.Header
	credential *credentials.WechatPayCredentials
	validator  auth.Validator
}

// newPoster builds the signer, the validator and the fixed headers for cfg
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
		credential: &credentials.WechatPayCredentials{Signer: signer},
		validator:  validators.NewWechatPayResponseValidator(verifier),
		header: http.Header{
			consts.Accept:      {"*/*"},
			consts.ContentType: {consts.ApplicationJSON},
			consts.UserAgent:   {fmt.Sprintf(consts.UserAgentFormat, consts.Version, runtime.GOOS, runtime.Version())},
		},
	}
	// The serial the answer must be signed with: the public key's id, or
	// the platform certificate's serial.
	if serial, err := p.validator.GetAcceptSerial(context.Background()); err == nil {
		p.header.Set(consts.WechatPaySerial, serial)
	}
	return p, nil
}

// post sends body, signed as-is. Like core.Client.Post it returns a nil
// result when the request could not be built or signed, a result without a
// Response on a transport error, a *core.APIError for a non-2xx answer and
// the validator's error for a 2xx answer that fails verification.
func (p *poster) post(ctx context.Context, body []byte) (*core.APIResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header = p.header.Clone()
	authorization, err := p.credential.GenerateAuthorizationHeader(ctx, http.MethodPost, p.requestURI, string(body))
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
	if err := p.validator.Validate(ctx, res.Response); err != nil {
		return res, err
	}
	return res, nil
}
