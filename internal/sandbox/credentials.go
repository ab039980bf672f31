package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names written by GenerateCredentials and read by LoadCredentials.
// The merchant-side names follow what the WeChat Pay merchant portal
// delivers; the sandbox-only files hold the WeChat Pay side's private keys.
const (
	FileMchPrivateKey       = "apiclient_key.pem"    // merchant private key, PKCS#8 "PRIVATE KEY"
	FileMchCert             = "apiclient_cert.pem"   // merchant API certificate (its serial is MchCertSerial)
	FileWechatPayPublicKey  = "pub_key.pem"          // WeChat Pay public key, PKIX "PUBLIC KEY"
	FilePlatformCert        = "wechatpay_cert.pem"   // WeChat Pay platform certificate
	FileWechatPayPrivateKey = "sandbox_pub_key.key"  // sandbox only: private half of pub_key.pem
	FilePlatformPrivateKey  = "sandbox_platform.key" // sandbox only: private key of the platform certificate
	FileIDs                 = "sandbox.json"         // ids: mchid, serials, public key id
)

// DefaultMchID is the merchant id GenerateCredentials assigns.
const DefaultMchID = "1230000109"

// ErrCredentials reports a credentials directory that is incomplete or inconsistent.
var ErrCredentials = errors.New("sandbox credentials invalid")

// Credentials is a throwaway set of merchant and WeChat Pay keys for the
// sandbox, with the paths of the PEM files that hold them. Never production.
type Credentials struct {
	Dir string

	MchID                  string
	MchCertSerial          string // 40 upper-case hex digits
	MchPrivateKeyFile      string
	MchCertFile            string
	MchPrivateKey          *rsa.PrivateKey
	WechatPayPublicKeyID   string // PUB_KEY_ID_ followed by 34 digits
	WechatPayPublicKeyFile string
	WechatPayPublicKey     *rsa.PublicKey
	WechatPayPrivateKey    *rsa.PrivateKey // sandbox side
	PlatformCertFile       string
	PlatformCert           *x509.Certificate
	PlatformCertSerial     string          // 40 upper-case hex digits, as wechatpay-go looks it up
	PlatformPrivateKey     *rsa.PrivateKey // sandbox side
}

type idsFile struct {
	MchID                string `json:"mchid"`
	MchCertSerial        string `json:"mch_cert_serial"`
	WechatPayPublicKeyID string `json:"wechatpay_public_key_id"`
	PlatformCertSerial   string `json:"platform_cert_serial"`
}

// GenerateCredentials creates three RSA-2048 key pairs (merchant, WeChat Pay
// public key, platform certificate), a merchant certificate and a
// self-signed platform certificate, writes them as PEM files in dir (created
// if missing) and returns them. RSA key generation is slow: call it once per
// test package, not per test.
func GenerateCredentials(dir string) (*Credentials, error) {
	return GenerateAccount(dir, DefaultMchID)
}

// GenerateAccount is GenerateCredentials for the merchant account mchID:
// each account of a multi-account sandbox has its own keys (Config.Accounts).
func GenerateAccount(dir, mchID string) (*Credentials, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create credentials dir: %w", err)
	}
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("generate rsa key: %w", err)
		}
		keys[i] = k
	}
	mchSerial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	platSerial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	digits, err := randomDigits(30)
	if err != nil {
		return nil, err
	}
	ids := idsFile{
		MchID:                mchID,
		MchCertSerial:        fmt.Sprintf("%X", mchSerial.Bytes()),
		WechatPayPublicKeyID: "PUB_KEY_ID_0112" + digits,
		PlatformCertSerial:   fmt.Sprintf("%X", platSerial.Bytes()),
	}
	mchCert, err := selfSignedCert(keys[0], mchSerial, "ordersync sandbox merchant "+ids.MchID)
	if err != nil {
		return nil, err
	}
	platCert, err := selfSignedCert(keys[2], platSerial, "ordersync sandbox WeChat Pay platform")
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&keys[1].PublicKey)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	idsJSON, err := json.MarshalIndent(ids, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal ids: %w", err)
	}
	files := []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{FileMchPrivateKey, pkcs8PEM(keys[0]), 0o600},
		{FileMchCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: mchCert}), 0o644},
		{FileWechatPayPublicKey, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644},
		{FileWechatPayPrivateKey, pkcs8PEM(keys[1]), 0o600},
		{FilePlatformCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: platCert}), 0o644},
		{FilePlatformPrivateKey, pkcs8PEM(keys[2]), 0o600},
		{FileIDs, append(idsJSON, '\n'), 0o644},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.perm); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	return LoadCredentials(dir)
}

// LoadCredentials reads a directory written by GenerateCredentials.
func LoadCredentials(dir string) (*Credentials, error) {
	raw, err := os.ReadFile(filepath.Join(dir, FileIDs))
	if err != nil {
		return nil, fmt.Errorf("read credentials ids: %w", err)
	}
	var ids idsFile
	if err := json.Unmarshal(raw, &ids); err != nil {
		return nil, fmt.Errorf("parse %s: %w", FileIDs, err)
	}
	c := &Credentials{
		Dir:                    dir,
		MchID:                  ids.MchID,
		MchCertSerial:          ids.MchCertSerial,
		MchPrivateKeyFile:      filepath.Join(dir, FileMchPrivateKey),
		MchCertFile:            filepath.Join(dir, FileMchCert),
		WechatPayPublicKeyID:   ids.WechatPayPublicKeyID,
		WechatPayPublicKeyFile: filepath.Join(dir, FileWechatPayPublicKey),
		PlatformCertFile:       filepath.Join(dir, FilePlatformCert),
		PlatformCertSerial:     ids.PlatformCertSerial,
	}
	if c.MchPrivateKey, err = readPrivateKey(c.MchPrivateKeyFile); err != nil {
		return nil, err
	}
	if c.WechatPayPrivateKey, err = readPrivateKey(filepath.Join(dir, FileWechatPayPrivateKey)); err != nil {
		return nil, err
	}
	if c.PlatformPrivateKey, err = readPrivateKey(filepath.Join(dir, FilePlatformPrivateKey)); err != nil {
		return nil, err
	}
	block, err := readPEM(c.WechatPayPublicKeyFile, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(block)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", c.WechatPayPublicKeyFile, err)
	}
	var ok bool
	if c.WechatPayPublicKey, ok = pub.(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("%s: not an rsa key: %w", c.WechatPayPublicKeyFile, ErrCredentials)
	}
	block, err = readPEM(c.PlatformCertFile, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	if c.PlatformCert, err = x509.ParseCertificate(block); err != nil {
		return nil, fmt.Errorf("parse %s: %w", c.PlatformCertFile, err)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Credentials) check() error {
	switch {
	case c.MchID == "" || len(c.MchCertSerial) != 40:
		return fmt.Errorf("%s: mchid or merchant serial missing: %w", FileIDs, ErrCredentials)
	case !strings.HasPrefix(c.WechatPayPublicKeyID, "PUB_KEY_ID_"):
		return fmt.Errorf("%s: public key id malformed: %w", FileIDs, ErrCredentials)
	case !c.WechatPayPrivateKey.PublicKey.Equal(c.WechatPayPublicKey):
		return fmt.Errorf("%s does not match its private key: %w", FileWechatPayPublicKey, ErrCredentials)
	case !c.PlatformPrivateKey.PublicKey.Equal(c.PlatformCert.PublicKey):
		return fmt.Errorf("%s does not match its private key: %w", FilePlatformCert, ErrCredentials)
	case fmt.Sprintf("%X", c.PlatformCert.SerialNumber.Bytes()) != c.PlatformCertSerial:
		return fmt.Errorf("%s serial does not match %s: %w", FilePlatformCert, FileIDs, ErrCredentials)
	}
	return nil
}

func readPrivateKey(path string) (*rsa.PrivateKey, error) {
	block, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(block)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PKCS#8 private key: %w", path, ErrCredentials)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an rsa key: %w", path, ErrCredentials)
	}
	return rk, nil
}

// readPEM returns the DER bytes of the first PEM block of file path, which
// must have the given type. Errors name the file, never its content.
func readPEM(path, typ string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != typ {
		return nil, fmt.Errorf("%s: no %q PEM block: %w", path, typ, ErrCredentials)
	}
	return block.Bytes, nil
}

func pkcs8PEM(k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		// An *rsa.PrivateKey from rsa.GenerateKey always marshals.
		panic(fmt.Sprintf("marshal pkcs8: %v", err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// randomSerial returns a positive 160-bit serial whose big-endian bytes
// print as exactly 40 hex digits.
func randomSerial() (*big.Int, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("random serial: %w", err)
	}
	b[0] = 0x10 | (b[0] & 0x6f)
	return new(big.Int).SetBytes(b), nil
}

func randomDigits(n int) (string, error) {
	var sb strings.Builder
	for range n {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			return "", fmt.Errorf("random digits: %w", err)
		}
		sb.WriteByte(byte('0' + d.Int64()))
	}
	return sb.String(), nil
}

func selfSignedCert(key *rsa.PrivateKey, serial *big.Int, cn string) ([]byte, error) {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"ordersync sandbox"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	return der, nil
}
