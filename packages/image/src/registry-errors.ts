import { ActionError, type ActionErrorOptions } from '@dreamscape/core';

/** What every registry failure carries. */
export interface RegistryErrorData {
  /** `ghcr.io`, `127.0.0.1:5000`, ... */
  readonly registry: string;
  /** The HTTP status, when the registry answered. */
  readonly status?: number | undefined;
  /** The image reference concerned, when there is one. */
  readonly reference?: string | undefined;
}

/** A registry refused or failed a request. */
export class RegistryError extends ActionError implements RegistryErrorData {
  readonly registry: string;
  readonly status: number | undefined;
  readonly reference: string | undefined;

  constructor(message: string, data: RegistryErrorData, options: ActionErrorOptions = {}) {
    super(message, options);
    this.name = 'RegistryError';
    this.registry = data.registry;
    this.status = data.status;
    this.reference = data.reference;
  }
}

/** 401/403: the credentials (or their absence) do not grant access. */
export class RegistryAuthError extends RegistryError {
  constructor(message: string, data: RegistryErrorData, options: ActionErrorOptions = {}) {
    super(message, data, options);
    this.name = 'RegistryAuthError';
  }
}

/** 404: the repository or the tag/digest does not exist. */
export class ImageNotFoundError extends RegistryError {
  constructor(message: string, data: RegistryErrorData, options: ActionErrorOptions = {}) {
    super(message, data, options);
    this.name = 'ImageNotFoundError';
  }
}

/** The registry could not be reached, or kept failing (429/5xx), through every attempt. */
export class RegistryUnavailableError extends RegistryError {
  readonly attempts: number;

  constructor(
    message: string,
    data: RegistryErrorData & { readonly attempts: number },
    options: ActionErrorOptions = {},
  ) {
    super(message, data, options);
    this.name = 'RegistryUnavailableError';
    this.attempts = data.attempts;
  }
}
