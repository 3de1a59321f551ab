import { z } from 'zod';

/** A name people give things (a broker, a webhook, a window): letters, digits and _ . : - only. */
export const name = z.string().min(1).regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits and _ . : - only');
