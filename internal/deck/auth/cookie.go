// Package auth is Deck's login and request protection: GitHub OAuth login with Prow's OAuth
// config file, sessions in cookies signed with the cookie secret (HttpOnly, SameSite), and a CSRF
// token that every POST must carry.
package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// signer signs small values for cookies with an HMAC of the cookie secret, with an expiry read
// from the injected clock (gorilla/securecookie reads the wall clock itself).
type signer struct {
	key []byte
	now func() time.Time
}

type signed struct {
	Purpose string `json:"p"`
	Value   string `json:"v"`
	Expires int64  `json:"e"`
}

func (s signer) mac(b []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	return m.Sum(nil)
}

// sign returns value, bound to purpose, valid for ttl, as cookie-safe text.
func (s signer) sign(purpose, value string, ttl time.Duration) string {
	b, _ := json.Marshal(signed{Purpose: purpose, Value: value, Expires: s.now().Add(ttl).Unix()})
	enc := base64.RawURLEncoding
	return enc.EncodeToString(b) + "." + enc.EncodeToString(s.mac(b))
}

var errBadCookie = errors.New("cookie is not valid: it was not signed with this cookie secret, or it expired")

// verify returns the value of text signed for purpose, if its signature holds and it has not expired.
func (s signer) verify(purpose, text string) (string, error) {
	enc := base64.RawURLEncoding
	p, m, ok := strings.Cut(text, ".")
	if !ok {
		return "", errBadCookie
	}
	b, err1 := enc.DecodeString(p)
	sum, err2 := enc.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(sum, s.mac(b)) {
		return "", errBadCookie
	}
	var v signed
	if err := json.Unmarshal(b, &v); err != nil || v.Purpose != purpose || s.now().Unix() >= v.Expires {
		return "", errBadCookie
	}
	return v.Value, nil
}
