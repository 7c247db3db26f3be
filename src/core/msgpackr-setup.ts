/**
 * Process settings msgpackr reads when it loads; imported before msgpackr. Its native string
 * decoder costs a native call per string, which for the small records of a network buffer is
 * about twice as slow as its JS decoder (measured on the keyed-exchange benchmark), so the JS
 * decoder is the default unless the user decided otherwise.
 */
process.env['MSGPACKR_NATIVE_ACCEPTATION_DISABLED'] ??= 'true';
