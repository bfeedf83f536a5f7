package apierror

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite_NoHTMLEscapingNoNewline(t *testing.T) {
	w := httptest.NewRecorder()
	Write(w, http.StatusBadRequest, "invalid_payload", `a <b> & "c"`)
	if got, want := w.Body.String(), `{"error":"invalid_payload","message":"a <b> & \"c\""}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	if w.Code != 400 || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("status %d, Content-Type %q", w.Code, w.Header().Get("Content-Type"))
	}
}

func TestWrite_EmptyMessageOmitted(t *testing.T) {
	w := httptest.NewRecorder()
	Write(w, http.StatusUnauthorized, "unauthorized", "")
	if got, want := w.Body.String(), `{"error":"unauthorized"}`; got != want || w.Code != 401 {
		t.Errorf("%d %s, want 401 %s", w.Code, got, want)
	}
}
