/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "drm-ioctl.h"

#include <errno.h>
#include <sys/ioctl.h>

int drm_ioctl(int fd, unsigned long request, void *arg)
{
        for (;;) {
                if (ioctl(fd, request, arg) >= 0)
                        return 0;
                if (errno != EINTR && errno != EAGAIN)
                        return -errno;
        }
}
