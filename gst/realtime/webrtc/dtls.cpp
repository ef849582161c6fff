/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The RSA method hook below uses OpenSSL's low-level RSA API, deprecated in
 * 3.0 but the only way into the dtls elements' key generation. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "webrtc/dtls.h"

#include "core/debug.h"

#include <gst/gst.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include <cerrno>

#include <fcntl.h>
#include <glib/gstdio.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>
#include <unistd.h>

#define GST_CAT_DEFAULT rt_peer_debug

namespace rt {
namespace dtls_key {

std::string path ()
{
  const char *env = g_getenv ("GST_REALTIME_DTLS_KEY");
  if (env && g_strcmp0 (env, "none") == 0)
    return {};
  if (env && *env)
    return env;
  gchar *p = g_build_filename (g_get_user_cache_dir (), "gst-realtime",
      "dtls-key.pem", nullptr);
  std::string out (p);
  g_free (p);
  return out;
}

namespace {

constexpr std::size_t kMaxFileBytes = 16384;

int no_passphrase (char *, int, int, void *)
{
  return -1;
}

/* The key's folder is one only its owner may change (or a sticky one,
 * like /tmp, where others cannot replace this user's files). */
bool private_folder (const std::string &path)
{
  gchar *dir = g_path_get_dirname (path.c_str ());
  GStatBuf st;
  const bool ok = g_stat (dir, &st) == 0 &&
      ((st.st_mode & 022) == 0 || (st.st_mode & S_ISVTX) != 0);
  g_free (dir);
  return ok;
}

bool factors_agree (const BIGNUM *n, const BIGNUM *p, const BIGNUM *q)
{
  BN_CTX *ctx = BN_CTX_new ();
  BIGNUM *pq = BN_new ();
  const bool ok = ctx && pq && BN_mul (pq, p, q, ctx) && BN_cmp (pq, n) == 0;
  BN_free (pq);
  BN_CTX_free (ctx);
  return ok;
}

/* A signature made with the private parts verifies with the public ones:
 * the parts agree, in a millisecond (OpenSSL's pairwise check also tests
 * the primes: 50 ms, most of what a kept key saves). */
bool signs (EVP_PKEY *key)
{
  static const unsigned char text[] = "gst-realtime DTLS key";
  unsigned char sig[512];
  size_t len = sizeof sig;
  EVP_MD_CTX *sign = EVP_MD_CTX_new ();
  EVP_MD_CTX *verify = EVP_MD_CTX_new ();
  const bool ok = sign && verify &&
      EVP_DigestSignInit (sign, nullptr, EVP_sha256 (), nullptr, key) == 1 &&
      EVP_DigestSign (sign, sig, &len, text, sizeof text) == 1 &&
      EVP_DigestVerifyInit (verify, nullptr, EVP_sha256 (), nullptr, key) ==
          1 &&
      EVP_DigestVerify (verify, sig, len, text, sizeof text) == 1;
  EVP_MD_CTX_free (sign);
  EVP_MD_CTX_free (verify);
  return ok;
}

}  // namespace

EVP_PKEY *load (const std::string &path, std::time_t now, std::string *why,
    std::time_t max_age)
{
  /* Checked on what is opened, never through the path again: a file
   * swapped for a link in between is not read. */
  /* Non-blocking: a FIFO put there would otherwise hold every call. */
  const int fd = open (path.c_str (),
      O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    *why = errno == ENOENT ? "no key kept at " + path :
                             path + " cannot be opened: " + g_strerror (errno);
    return nullptr;
  }
  struct stat st;
  char text[kMaxFileBytes];
  ssize_t size = -1;
  std::string problem;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) ||
      st.st_uid != geteuid () || (st.st_mode & 077) != 0)
    problem = path + " is not a file of this user's that only they may read";
  else if (!private_folder (path))
    problem = "others may write in the folder of " + path;
  else if (st.st_mtime > now || now - st.st_mtime >= max_age)
    problem = "the key kept at " + path + " is too old";
  else if (st.st_size <= 0 || st.st_size >= (off_t) sizeof text ||
      (size = read (fd, text, sizeof text)) != st.st_size)
    problem = path + " cannot be read whole";
  close (fd);
  if (!problem.empty ()) {
    if (size > 0)
      OPENSSL_cleanse (text, size);
    *why = problem;
    return nullptr;
  }
  BIO *bio = BIO_new_mem_buf (text, (int) size);
  /* Never a passphrase prompt on the terminal: an encrypted key is not
   * ours. */
  EVP_PKEY *key = PEM_read_bio_PrivateKey (bio, nullptr, no_passphrase,
      nullptr);
  BIO_free (bio);
  OPENSSL_cleanse (text, size);
  bool ok = key && EVP_PKEY_get_base_id (key) == EVP_PKEY_RSA &&
      EVP_PKEY_get_bits (key) == 2048;
  if (ok) {
    const RSA *rsa = EVP_PKEY_get0_RSA (key);
    const BIGNUM *n = nullptr, *e = nullptr, *p = nullptr, *q = nullptr;
    RSA_get0_key (rsa, &n, &e, nullptr);
    RSA_get0_factors (rsa, &p, &q);
    ok = n && e && p && q && BN_is_word (e, RSA_F4) &&
        factors_agree (n, p, q) && signs (key);
  }
  if (!ok) {
    EVP_PKEY_free (key);
    *why = path + " does not hold a sound RSA-2048 key";
    return nullptr;
  }
  return key;
}

bool store (const std::string &path, EVP_PKEY *key, std::string *why)
{
  gchar *dir = g_path_get_dirname (path.c_str ());
  const bool made = g_mkdir_with_parents (dir, 0700) == 0;
  g_free (dir);
  if (!made) {
    *why = "cannot make the folder of " + path;
    return false;
  }
  BIO *bio = BIO_new (BIO_s_mem ());
  char *data = nullptr;
  long len = 0;
  if (PEM_write_bio_PrivateKey (bio, key, nullptr, nullptr, 0, nullptr,
          nullptr) == 1)
    len = BIO_get_mem_data (bio, &data);
  GError *error = nullptr;
  const bool ok = len > 0 &&
      g_file_set_contents_full (path.c_str (), data, len,
          G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error);
  BIO_free (bio);
  if (!ok) {
    *why = "cannot write " + path + ": " +
        (error ? error->message : "no PEM text");
    g_clear_error (&error);
  }
  return ok;
}

}  // namespace dtls_key

namespace {

/* Set on the thread that makes the process's certificate, while it does. */
thread_local std::string *keeping = nullptr;
/* OpenSSL's default RSA method before ours took its place. */
const RSA_METHOD *default_method = nullptr;
/* Whether the process's certificate was made on the kept key. */
std::atomic<bool> served { false };

/* Copies the key's parts into rsa (which takes the copies). */
bool adopt (RSA *rsa, const RSA *from)
{
  const BIGNUM *n, *e, *d, *p, *q, *dmp1, *dmq1, *iqmp;
  RSA_get0_key (from, &n, &e, &d);
  RSA_get0_factors (from, &p, &q);
  RSA_get0_crt_params (from, &dmp1, &dmq1, &iqmp);
  BIGNUM *parts[] = { BN_dup (n), BN_dup (e), BN_dup (d), BN_dup (p),
    BN_dup (q), BN_dup (dmp1), BN_dup (dmq1), BN_dup (iqmp) };
  bool ok = std::all_of (std::begin (parts), std::end (parts),
      [] (BIGNUM *b) { return b != nullptr; });
  /* Each set0 takes its parts only when it succeeds. */
  ok = ok && RSA_set0_key (rsa, parts[0], parts[1], parts[2]) == 1;
  if (ok)
    parts[0] = parts[1] = parts[2] = nullptr;
  ok = ok && RSA_set0_factors (rsa, parts[3], parts[4]) == 1;
  if (ok)
    parts[3] = parts[4] = nullptr;
  ok = ok && RSA_set0_crt_params (rsa, parts[5], parts[6], parts[7]) == 1;
  if (ok)
    parts[5] = parts[6] = parts[7] = nullptr;
  for (BIGNUM *b : parts)
    BN_clear_free (b);
  return ok;
}

/* OpenSSL's RSA key generation, with the kept key in its place for the
 * process's DTLS certificate. Any other key asked for meanwhile (another
 * thread, another size) is generated as OpenSSL would. */
int keygen (RSA *rsa, int bits, BIGNUM *e, BN_GENCB *cb)
{
  const bool ours = keeping && bits == 2048 && BN_is_word (e, RSA_F4);
  if (ours) {
    /* Served: OpenSSL's own default again, for whatever comes next. */
    RSA_set_default_method (default_method);
    std::string why;
    EVP_PKEY *kept = dtls_key::load (*keeping, std::time (nullptr), &why);
    if (kept) {
      const bool ok = adopt (rsa, EVP_PKEY_get0_RSA (kept));
      EVP_PKEY_free (kept);
      if (ok) {
        served = true;
        GST_INFO ("DTLS certificate on the key kept at %s", keeping->c_str ());
        return 1;
      }
      why = "the key kept at " + *keeping + " could not be used";
    }
    GST_INFO ("%s: making a DTLS key", why.c_str ());
  }
  RSA *made = RSA_new ();
  if (!made)
    return 0;
  RSA_set_method (made, RSA_PKCS1_OpenSSL ());
  bool ok = RSA_generate_key_ex (made, bits, e, cb) == 1 && adopt (rsa, made);
  served = served || (ok && ours);
  if (ok && ours) {
    EVP_PKEY *key = EVP_PKEY_new ();
    std::string why;
    if (EVP_PKEY_set1_RSA (key, made) != 1 ||
        !dtls_key::store (*keeping, key, &why))
      GST_WARNING ("the DTLS key is not kept for later processes: %s",
          why.c_str ());
    EVP_PKEY_free (key);
  }
  RSA_free (made);
  return ok ? 1 : 0;
}

}  // namespace

void make_dtls_certificate ()
{
  std::string path = dtls_key::path ();
  static RSA_METHOD *method = [] {
    RSA_METHOD *m = RSA_meth_dup (RSA_PKCS1_OpenSSL ());
    RSA_meth_set1_name (m, "gst-realtime kept DTLS key");
    RSA_meth_set_keygen (m, keygen);
    return m;
  }();
  /* Ours is OpenSSL's default only from just before the dtlsdec is made
   * (its plugin loaded already) until its key is asked for. */
  if (GstPlugin *plugin = gst_plugin_load_by_name ("dtls"))
    gst_object_unref (plugin);
  default_method = RSA_get_default_method ();
  if (!path.empty ()) {
    keeping = &path;
    RSA_set_default_method (method);
  }
  if (GstElement *dec = gst_element_factory_make ("dtlsdec", nullptr))
    gst_object_unref (dec);
  if (!path.empty ()) {
    /* Not asked for (another dtlsdec made the certificate first, or the
     * dtls elements make another kind of key). */
    if (RSA_get_default_method () == method)
      RSA_set_default_method (default_method);
    keeping = nullptr;
  }
}

bool dtls_key::in_use ()
{
  return served.load ();
}

}  // namespace rt
