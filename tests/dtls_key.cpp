/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The DTLS key kept between processes: what is trusted when it is read
 * back, and the process's certificate made on it (each case in a fresh
 * process: the dtls elements make their certificate once per process);
 * and the rest of what a process prepares ahead of its first call. */
#include "webrtc/dtls.h"
#include "webrtc/prewarm.h"

#include <gst/gst.h>

#include <glib/gstdio.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <string>

namespace {

std::string temp_dir ()
{
  gchar *d = g_dir_make_tmp ("dtls-key-XXXXXX", nullptr);
  g_assert_nonnull (d);
  std::string out (d);
  g_free (d);
  return out;
}

/* Removes a folder of the test's and what it holds (keys: not left in
 * /tmp). */
void remove_tree (const std::string &path)
{
  if (GDir *dir = g_dir_open (path.c_str (), 0, nullptr)) {
    while (const char *name = g_dir_read_name (dir))
      remove_tree (path + "/" + name);
    g_dir_close (dir);
    g_rmdir (path.c_str ());
  } else {
    g_remove (path.c_str ());
  }
}

/* GStreamer from 1.27 makes its certificate on an ECDSA key: no RSA key
 * is asked for, and nothing here is used. */
bool dtls_makes_rsa ()
{
  guint major, minor, micro, nano;
  gst_version (&major, &minor, &micro, &nano);
  return major == 1 && minor < 27;
}

EVP_PKEY *rsa_key (int bits)
{
  EVP_PKEY *k = EVP_RSA_gen (bits);
  g_assert_nonnull (k);
  return k;
}

/* The public key of the certificate the process's dtls elements use. */
EVP_PKEY *certificate_key ()
{
  GstElement *dec = gst_element_factory_make ("dtlsdec", nullptr);
  g_assert_nonnull (dec);
  gchar *pem = nullptr;
  g_object_get (dec, "pem", &pem, nullptr);
  gst_object_unref (dec);
  g_assert_nonnull (pem);
  BIO *bio = BIO_new_mem_buf (pem, -1);
  X509 *cert = PEM_read_bio_X509 (bio, nullptr, nullptr, nullptr);
  BIO_free (bio);
  g_free (pem);
  g_assert_nonnull (cert);
  EVP_PKEY *key = X509_get_pubkey (cert);
  X509_free (cert);
  return key;
}

}  // namespace

static void test_store_and_load ()
{
  const std::string dir = temp_dir ();
  const std::string path = dir + "/sub/key.pem";
  EVP_PKEY *key = rsa_key (2048);
  std::string why;
  g_assert_true (rt::dtls_key::store (path, key, &why));
  GStatBuf st;
  g_assert_cmpint (g_stat (path.c_str (), &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat ((dir + "/sub").c_str (), &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  const std::time_t now = std::time (nullptr);
  EVP_PKEY *back = rt::dtls_key::load (path, now, &why);
  g_assert_nonnull (back);
  g_assert_cmpint (EVP_PKEY_eq (key, back), ==, 1);
  EVP_PKEY_free (back);

  /* Too old, or from the future (a clock set back): made anew. */
  g_assert_null (
      rt::dtls_key::load (path, now + rt::dtls_key::kMaxAgeSeconds + 1, &why));
  g_assert_true (why.find ("too old") != std::string::npos);
  g_assert_null (rt::dtls_key::load (path, now - 3600, &why));

  /* Others may read it: not trusted. */
  g_chmod (path.c_str (), 0640);
  g_assert_null (rt::dtls_key::load (path, now, &why));
  g_assert_true (why.find ("only they may read") != std::string::npos);
  g_chmod (path.c_str (), 0600);
  g_assert_nonnull (back = rt::dtls_key::load (path, now, &why));
  EVP_PKEY_free (back);
  EVP_PKEY_free (key);

  /* Not a sound RSA-2048 key: refused. */
  EVP_PKEY *small = rsa_key (1024);
  g_assert_true (rt::dtls_key::store (path, small, &why));
  g_assert_null (rt::dtls_key::load (path, std::time (nullptr), &why));
  g_assert_true (why.find ("RSA-2048") != std::string::npos);
  EVP_PKEY_free (small);
  EVP_PKEY *ec = EVP_EC_gen ("P-256");
  g_assert_true (rt::dtls_key::store (path, ec, &why));
  g_assert_null (rt::dtls_key::load (path, std::time (nullptr), &why));
  EVP_PKEY_free (ec);
  g_assert_true (g_file_set_contents_full (path.c_str (),
      "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", -1,
      G_FILE_SET_CONTENTS_CONSISTENT, 0600, nullptr));
  g_assert_null (rt::dtls_key::load (path, std::time (nullptr), &why));
  g_assert_null (rt::dtls_key::load (dir + "/absent.pem", now, &why));
  g_assert_true (why.find ("no key kept") != std::string::npos);

  /* A link is not followed, even to a sound key of this user's. */
  key = rsa_key (2048);
  const std::string real = dir + "/sub/real.pem";
  g_assert_true (rt::dtls_key::store (real, key, &why));
  g_remove (path.c_str ());
  g_assert_cmpint (symlink (real.c_str (), path.c_str ()), ==, 0);
  g_assert_null (rt::dtls_key::load (path, std::time (nullptr), &why));
  g_assert_nonnull (
      back = rt::dtls_key::load (real, std::time (nullptr), &why));
  EVP_PKEY_free (back);
  /* In a folder others may write in (not sticky): not trusted. */
  g_chmod ((dir + "/sub").c_str (), 0777);
  g_assert_null (rt::dtls_key::load (real, std::time (nullptr), &why));
  g_assert_true (why.find ("folder") != std::string::npos);
  g_chmod ((dir + "/sub").c_str (), 0700);
  /* Encrypted: refused, never a passphrase prompt. */
  BIO *bio = BIO_new (BIO_s_mem ());
  g_assert_cmpint (PEM_write_bio_PrivateKey (bio, key, EVP_aes_128_cbc (),
                       (unsigned char *) "pass", 4, nullptr, nullptr),
      ==, 1);
  char *pem = nullptr;
  const long len = BIO_get_mem_data (bio, &pem);
  g_assert_true (g_file_set_contents_full (real.c_str (), pem, len,
      G_FILE_SET_CONTENTS_CONSISTENT, 0600, nullptr));
  BIO_free (bio);
  g_assert_null (rt::dtls_key::load (real, std::time (nullptr), &why));
  EVP_PKEY_free (key);
  remove_tree (dir);
}

static void test_path ()
{
  g_setenv ("GST_REALTIME_DTLS_KEY", "none", TRUE);
  g_assert_true (rt::dtls_key::path ().empty ());
  g_setenv ("GST_REALTIME_DTLS_KEY", "/somewhere/k.pem", TRUE);
  g_assert_true (rt::dtls_key::path () == "/somewhere/k.pem");
  g_unsetenv ("GST_REALTIME_DTLS_KEY");
  g_assert_true (g_str_has_suffix (rt::dtls_key::path ().c_str (),
      "/gst-realtime/dtls-key.pem"));
}

/* In a child: the process's certificate, made ahead of any webrtcbin,
 * carries the key kept at $GST_REALTIME_DTLS_KEY. */
static void certificate_child ()
{
  rt::await_dtls_certificate ();
  EVP_PKEY *cert_key = certificate_key ();
  std::string why;
  EVP_PKEY *kept = rt::dtls_key::load (g_getenv ("GST_REALTIME_DTLS_KEY"),
      std::time (nullptr), &why);
  g_assert_nonnull (kept);
  g_assert_cmpint (EVP_PKEY_eq (cert_key, kept), ==, 1);
  g_assert_true (rt::dtls_key::in_use ());
  EVP_PKEY_free (kept);
  EVP_PKEY_free (cert_key);
}

static void test_certificate_on_kept_key ()
{
  if (g_test_subprocess ()) {
    certificate_child ();
    return;
  }
  if (!dtls_makes_rsa ()) {
    g_test_skip ("the dtls elements make an ECDSA key of their own");
    return;
  }
  const std::string dir = temp_dir ();
  const std::string path = dir + "/dtls-key.pem";
  g_setenv ("GST_REALTIME_DTLS_KEY", path.c_str (), TRUE);
  /* The first process makes the key and keeps it... */
  g_test_trap_subprocess (nullptr, 60 * G_USEC_PER_SEC,
      G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  GStatBuf first;
  g_assert_cmpint (g_stat (path.c_str (), &first), ==, 0);
  /* ...the next one uses it, as it is. */
  g_test_trap_subprocess (nullptr, 60 * G_USEC_PER_SEC,
      G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  GStatBuf second;
  g_assert_cmpint (g_stat (path.c_str (), &second), ==, 0);
  g_assert_cmpuint (first.st_ino, ==, second.st_ino);
  g_assert_cmpint (first.st_mtime, ==, second.st_mtime);
  g_unsetenv ("GST_REALTIME_DTLS_KEY");
  remove_tree (dir);
}

/* Keeping off: a key of the process's own, nothing written. */
static void test_keeping_off ()
{
  if (g_test_subprocess ()) {
    rt::await_dtls_certificate ();
    EVP_PKEY *cert_key = certificate_key ();
    g_assert_nonnull (cert_key);
    g_assert_false (rt::dtls_key::in_use ());
    EVP_PKEY_free (cert_key);
    return;
  }
  const std::string dir = temp_dir ();
  g_setenv ("GST_REALTIME_DTLS_KEY", "none", TRUE);
  g_setenv ("XDG_CACHE_HOME", dir.c_str (), TRUE);
  g_test_trap_subprocess (nullptr, 60 * G_USEC_PER_SEC,
      G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  g_assert_false (
      g_file_test ((dir + "/gst-realtime").c_str (), G_FILE_TEST_EXISTS));
  g_unsetenv ("GST_REALTIME_DTLS_KEY");
  g_unsetenv ("XDG_CACHE_HOME");
  remove_tree (dir);
}

/* Loaded as far as this process knows (not loaded: a plugin the machine
 * lacks, which no call could use either, is neither). */
static bool loaded (const char *name, bool *exists)
{
  GstPlugin *p = gst_registry_find_plugin (gst_registry_get (), name);
  *exists = p != nullptr;
  bool is = p && gst_plugin_is_loaded (p);
  if (p)
    gst_object_unref (p);
  return is;
}

/* A fresh process loads nothing of a call's until asked; once prepared,
 * all of it is loaded (the call that follows loads nothing). */
static void test_prewarm_loads_call_plugins ()
{
  if (g_test_subprocess ()) {
    bool exists = false;
    for (const char *const *n = rt::kCallPlugins; *n; n++)
      g_assert_false (loaded (*n, &exists));
    g_assert_true (rt::await_prewarm (60000));
    unsigned found = 0;
    for (const char *const *n = rt::kCallPlugins; *n; n++) {
      const bool is = loaded (*n, &exists);
      if (exists) {
        found++;
        if (!is)
          g_error ("plugin %s not loaded once prepared", *n);
      }
    }
    /* webrtc, srtp, nice: what the slow first call loaded. */
    g_assert_cmpuint (found, >=, 3);
    return;
  }
  g_test_trap_subprocess (nullptr, 60 * G_USEC_PER_SEC,
      G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* What a user meets: an element in READY has its call prepared. */
static void test_ready_is_prepared ()
{
  if (g_test_subprocess ()) {
    GstElement *sink = gst_element_factory_make ("openairealtimesink", nullptr);
    g_assert_nonnull (sink);
    g_assert_cmpint (gst_element_set_state (sink, GST_STATE_READY), ==,
        GST_STATE_CHANGE_SUCCESS);
    bool exists = false;
    for (const char *const *n = rt::kCallPlugins; *n; n++)
      if (!loaded (*n, &exists) && exists)
        g_error ("plugin %s not loaded in READY", *n);
    gst_element_set_state (sink, GST_STATE_NULL);
    gst_object_unref (sink);
    return;
  }
  g_test_trap_subprocess (nullptr, 60 * G_USEC_PER_SEC,
      G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

int main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_test_add_func ("/dtls-key/store-and-load", test_store_and_load);
  g_test_add_func ("/dtls-key/path", test_path);
  g_test_add_func ("/dtls-key/certificate-on-kept-key",
      test_certificate_on_kept_key);
  g_test_add_func ("/dtls-key/keeping-off", test_keeping_off);
  g_test_add_func ("/dtls-key/prewarm-loads-call-plugins",
      test_prewarm_loads_call_plugins);
  g_test_add_func ("/dtls-key/ready-is-prepared", test_ready_is_prepared);
  return g_test_run ();
}
