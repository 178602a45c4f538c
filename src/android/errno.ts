/** Messages of the Linux error numbers phones report, as bionic's strerror words them (what commands and tar print). */
export const ERRNO_MESSAGES = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EROFS: 'Read-only file system',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EEXIST: 'File exists',
  ENOTEMPTY: 'Directory not empty',
  ENOSPC: 'No space left on device',
  EFBIG: 'File too large',
  ELOOP: 'Too many symbolic links encountered',
  ENAMETOOLONG: 'File name too long',
  EINVAL: 'Invalid argument',
  EPERM: 'Operation not permitted',
} as const;
export type Errno = keyof typeof ERRNO_MESSAGES;
