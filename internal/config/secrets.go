package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// kafkaPassword returns the SASL password: ORDERSYNC_KAFKA_PASSWORD, or the
// content of ORDERSYNC_KAFKA_PASSWORD_FILE without its trailing newline.
// Setting both is an error.
func kafkaPassword(p *parser) string {
	pass, file := p.s.KafkaPassword.raw, p.str(p.s.KafkaPasswordFile)
	if file == "" {
		return pass
	}
	if pass != "" {
		p.fail(p.s.KafkaPasswordFile, "set together with ORDERSYNC_KAFKA_PASSWORD; set one of them")
		return ""
	}
	data, err := os.ReadFile(file)
	if err != nil {
		p.fail(p.s.KafkaPasswordFile, "cannot read %s", file)
		return ""
	}
	p.checkPrivate(p.s.KafkaPasswordFile, file)
	return strings.TrimRight(string(data), "\r\n")
}

// checkPrivate warns when the secret file path of setting v can be read
// by its group or by others.
func (p *parser) checkPrivate(v value, path string) {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	p.warnings = append(p.warnings, fmt.Sprintf("%s: %s is readable by group or others (mode %04o); chmod 600 it",
		v.env, path, fi.Mode().Perm()))
}

// checkBaseURL refuses a plain-http API base URL, which would carry login
// tokens unencrypted, unless it names a loopback host or
// ORDERSYNC_ALLOW_INSECURE_BASE_URL is true; an allowed one is warned about.
func checkBaseURL(p *parser, base string) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" {
		return
	}
	if !loopback(u.Hostname()) && !p.boolean(p.s.AllowInsecureBaseURL) {
		p.fail(p.s.WechatPayBaseURL, "%q is plain http to a host other than this one: bodies, login_token included, "+
			"would cross the network unencrypted; use https, or set ORDERSYNC_ALLOW_INSECURE_BASE_URL=true (sandbox only)", base)
		return
	}
	p.warnings = append(p.warnings, "ORDERSYNC_WECHATPAY_BASE_URL is plain http: bodies, login_token included, "+
		"cross the network unencrypted; use it only with the sandbox")
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
