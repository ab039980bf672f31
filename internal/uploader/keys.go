package uploader

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// ErrKeyFile reports a PEM file that does not hold the expected key or
// certificate. Errors name the file, never its content.
var ErrKeyFile = errors.New("unusable key file")

// LoadPrivateKey reads a merchant private key (PKCS#8 "PRIVATE KEY" PEM,
// apiclient_key.pem).
func LoadPrivateKey(path string) (*rsa.PrivateKey, error) {
	return loadPEM(path, "private key", `a PKCS#8 RSA "PRIVATE KEY" PEM`, utils.LoadPrivateKey)
}

// LoadPublicKey reads the WeChat Pay public key (PKIX "PUBLIC KEY" PEM,
// pub_key.pem).
func LoadPublicKey(path string) (*rsa.PublicKey, error) {
	return loadPEM(path, "public key", `an RSA "PUBLIC KEY" PEM`, utils.LoadPublicKey)
}

// LoadCertificate reads a WeChat Pay platform certificate ("CERTIFICATE" PEM).
func LoadCertificate(path string) (*x509.Certificate, error) {
	return loadPEM(path, "certificate", `a "CERTIFICATE" PEM`, utils.LoadCertificate)
}

// loadPEM reads the file at path and decodes it with parse. A read error
// is wrapped as it is (os.ErrNotExist stays visible); a parse error becomes
// ErrKeyFile naming the path, what was loaded and the PEM that was wanted,
// and nothing of the file's content.
func loadPEM[T any](path, what, want string, parse func(string) (T, error)) (T, error) {
	var zero T
	raw, err := os.ReadFile(path)
	if err != nil {
		return zero, fmt.Errorf("load %s: %w", what, err)
	}
	v, err := parse(string(raw))
	if err != nil {
		return zero, fmt.Errorf("load %s %s: want %s: %w", what, path, want, ErrKeyFile)
	}
	return v, nil
}
