package uploader_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/uploader"
)

func TestLoadKeyFiles(t *testing.T) {
	k, err := uploader.LoadPrivateKey(creds.MchPrivateKeyFile)
	if err != nil || !k.Equal(creds.MchPrivateKey) {
		t.Errorf("LoadPrivateKey: %v", err)
	}
	p, err := uploader.LoadPublicKey(creds.WechatPayPublicKeyFile)
	if err != nil || !p.Equal(creds.WechatPayPublicKey) {
		t.Errorf("LoadPublicKey: %v", err)
	}
	c, err := uploader.LoadCertificate(creds.PlatformCertFile)
	if err != nil || !c.Equal(creds.PlatformCert) {
		t.Errorf("LoadCertificate: %v", err)
	}
}

// TestLoadKeyFileErrorsNameFileNotContent feeds each loader the wrong PEM
// (the private key, the most secret one) and checks the error.
func TestLoadKeyFileErrorsNameFileNotContent(t *testing.T) {
	keyPEM, err := os.ReadFile(creds.MchPrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := filepath.Join(t.TempDir(), "pkcs1.pem")
	if err := os.WriteFile(pkcs1, []byte(strings.ReplaceAll(string(keyPEM), "PRIVATE KEY", "RSA PRIVATE KEY")), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		give func() error
		path string
	}{
		{"private key with PKCS#1 label", func() error { _, err := uploader.LoadPrivateKey(pkcs1); return err }, pkcs1},
		{"public key given a private key", func() error {
			_, err := uploader.LoadPublicKey(creds.MchPrivateKeyFile)
			return err
		}, creds.MchPrivateKeyFile},
		{"certificate given a private key", func() error {
			_, err := uploader.LoadCertificate(creds.MchPrivateKeyFile)
			return err
		}, creds.MchPrivateKeyFile},
	}
	keyLine := strings.Split(string(keyPEM), "\n")[3]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.give()
			if !errors.Is(err, uploader.ErrKeyFile) || !strings.Contains(err.Error(), tt.path) {
				t.Fatalf("err = %v, want ErrKeyFile naming %s", err, tt.path)
			}
			if strings.Contains(err.Error(), keyLine) {
				t.Errorf("error leaks key content: %v", err)
			}
		})
	}
	if _, err := uploader.LoadPrivateKey(filepath.Join(t.TempDir(), "missing.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
