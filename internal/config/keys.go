package config

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// readPEM returns the first PEM block of path. Errors name the file and never
// quote its content.
func readPEM(path, wantType string) (*pem.Block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, errors.Unwrap(err))
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block", path)
	}
	if block.Type != wantType {
		return nil, fmt.Errorf("%s holds a %q PEM block, want %q", path, block.Type, wantType)
	}
	return block, nil
}

// loadPrivateKey reads an RSA private key in PKCS#8 PEM, the form the merchant
// portal delivers as apiclient_key.pem.
func loadPrivateKey(path string) (*rsa.PrivateKey, error) {
	block, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s is not a PKCS#8 private key", path)
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, want an RSA key", path, key)
	}
	return rsaKey, nil
}

// loadPublicKey reads an RSA public key in PKIX PEM (pub_key.pem).
func loadPublicKey(path string) (*rsa.PublicKey, error) {
	block, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s is not a PKIX public key", path)
	}
	rsaKey, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, want an RSA key", path, key)
	}
	return rsaKey, nil
}

// loadCertificate reads a WeChat Pay platform certificate in PEM.
func loadCertificate(path string) (*x509.Certificate, error) {
	block, err := readPEM(path, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s is not an X.509 certificate", path)
	}
	return cert, nil
}
