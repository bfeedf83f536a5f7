// Package auth owns Echelon's access control: PBKDF2 password hashes, the
// in-memory admin sessions, the CSRF origin check, the /api authorization
// decision and the security headers every response carries (see
// docs/api.md, Access, and docs/dashboard.md, Access).
//
// It depends only on net/http and the standard library so the Caddy module
// can wire it in without the rules leaking into handler code.
package auth
