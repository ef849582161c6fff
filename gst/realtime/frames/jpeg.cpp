/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "frames/jpeg.h"

#include <csetjmp>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include <jpeglib.h>

namespace rt::frames_internal {

namespace {

/* libjpeg reports fatal errors by calling error_exit, which must not
 * return: it jumps back to encode_jpeg. */
struct JpegJob {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  unsigned char *out;
  unsigned long out_size;
};

void jpeg_fail (j_common_ptr cinfo)
{
  JpegJob *job = reinterpret_cast<JpegJob *> (
      reinterpret_cast<char *> (cinfo) - offsetof (JpegJob, cinfo));
  (*cinfo->err->format_message) (cinfo, job->message);
  std::longjmp (job->jump, 1);
}

void jpeg_quiet (j_common_ptr)
{
}

/* Only plain C objects live in this frame, so the jump skips no
 * destructor; job is the caller's and holds everything that changes. */
bool encode_jpeg_job (JpegJob *job, Image420 *img, int quality)
{
  job->cinfo.err = jpeg_std_error (&job->err);
  job->err.error_exit = jpeg_fail;
  job->err.output_message = jpeg_quiet;
  job->out = nullptr;
  job->out_size = 0;
  job->message[0] = '\0';
  if (setjmp (job->jump)) {
    jpeg_destroy_compress (&job->cinfo);
    std::free (job->out);
    job->out = nullptr;
    return false;
  }
  jpeg_create_compress (&job->cinfo);
  jpeg_mem_dest (&job->cinfo, &job->out, &job->out_size);
  jpeg_compress_struct *c = &job->cinfo;
  c->image_width = static_cast<JDIMENSION> (img->width);
  c->image_height = static_cast<JDIMENSION> (img->height);
  c->input_components = 3;
  c->in_color_space = JCS_YCbCr;
  jpeg_set_defaults (c);
  c->raw_data_in = TRUE;
  c->comp_info[0].h_samp_factor = c->comp_info[0].v_samp_factor = 2;
  for (int i = 1; i < 3; i++)
    c->comp_info[i].h_samp_factor = c->comp_info[i].v_samp_factor = 1;
  /* Optimal Huffman tables: a few percent fewer bytes for a little time,
   * and bytes are what the budget counts. */
  c->optimize_coding = TRUE;
  jpeg_set_quality (c, quality, TRUE);
  jpeg_start_compress (c, TRUE);
  JSAMPROW rows_y[16], rows_u[8], rows_v[8];
  JSAMPARRAY planes[3] = { rows_y, rows_u, rows_v };
  std::uint8_t *y = img->plane (0), *u = img->plane (1), *v = img->plane (2);
  const std::size_t sy = static_cast<std::size_t> (img->pad_width);
  const std::size_t sc = sy / 2;
  while (c->next_scanline < c->image_height) {
    const std::size_t row = c->next_scanline;
    for (std::size_t i = 0; i < 16; i++)
      rows_y[i] = y + (row + i) * sy;
    for (std::size_t i = 0; i < 8; i++) {
      rows_u[i] = u + (row / 2 + i) * sc;
      rows_v[i] = v + (row / 2 + i) * sc;
    }
    jpeg_write_raw_data (c, planes, 16);
  }
  jpeg_finish_compress (c);
  jpeg_destroy_compress (c);
  return true;
}

}  // namespace

Encoded encode_jpeg (Image420 *img, int quality)
{
  Encoded e;
  auto job = std::make_unique<JpegJob> ();
  if (!encode_jpeg_job (job.get (), img, quality)) {
    e.error = std::string ("the JPEG encoder failed: ") + job->message;
    return e;
  }
  e.jpeg.assign (job->out, job->out + job->out_size);
  std::free (job->out);
  e.ok = true;
  return e;
}

}  // namespace rt::frames_internal
