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
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load private key: %w", err)
	}
	k, err := utils.LoadPrivateKey(string(raw))
	if err != nil {
		return nil, fmt.Errorf("load private key %s: want a PKCS#8 RSA \"PRIVATE KEY\" PEM: %w", path, ErrKeyFile)
	}
	return k, nil
}

// LoadPublicKey reads the WeChat Pay public key (PKIX "PUBLIC KEY" PEM,
// pub_key.pem).
func LoadPublicKey(path string) (*rsa.PublicKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load public key: %w", err)
	}
	k, err := utils.LoadPublicKey(string(raw))
	if err != nil {
		return nil, fmt.Errorf("load public key %s: want an RSA \"PUBLIC KEY\" PEM: %w", path, ErrKeyFile)
	}
	return k, nil
}

// LoadCertificate reads a WeChat Pay platform certificate ("CERTIFICATE" PEM).
func LoadCertificate(path string) (*x509.Certificate, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load certificate: %w", err)
	}
	c, err := utils.LoadCertificate(string(raw))
	if err != nil {
		return nil, fmt.Errorf("load certificate %s: want a \"CERTIFICATE\" PEM: %w", path, ErrKeyFile)
	}
	return c, nil
}
